extension WireMessage {
    /// A client's request to start a job. The runtime passes `kind`, `options` and `payload` to the job's driver.
    public struct JobSubmit: Sendable, Equatable {
        public var kind: String
        /// Encoded sorted by key, so equal submissions encode to equal bytes.
        public var options: [String: String]
        public var payload: [UInt8]
        /// Chosen by the client so that a resubmission after a lost reply does not start a second job.
        public var clientRequestID: String

        public init(kind: String, options: [String: String] = [:], payload: [UInt8] = [], clientRequestID: String = "")
        {
            self.kind = kind
            self.options = options
            self.payload = payload
            self.clientRequestID = clientRequestID
        }
    }

    public struct JobSubmitReply: Sendable, Equatable {
        public var jobID: String
        /// True when `clientRequestID` matched a job submitted earlier.
        public var duplicate: Bool

        public init(jobID: String, duplicate: Bool = false) {
            self.jobID = jobID
            self.duplicate = duplicate
        }
    }

    public enum JobState: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know.
        case unspecified
        case queued
        case running
        case succeeded
        case failed
        case cancelled

        /// True for the states a job never leaves.
        public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
    }

    /// One job as `elide status` and `elide jobs` show it.
    public struct JobStatus: Sendable, Equatable {
        public var jobID: String
        public var kind: String
        public var state: JobState
        /// Between 0 and 1.
        public var progressFraction: Double
        /// The driver's own progress line, for example "generation 3/10, best KL 0.41".
        public var progressText: String
        public var elapsed: Duration
        public var tasksDone: Int
        public var tasksTotal: Int
        public var tasksRunning: Int
        public var retries: Int
        /// Set when `state` is `.failed`: names the worker, the task and the task's message.
        public var errorMessage: String
        /// Milliseconds since 1970-01-01 UTC.
        public var submittedAtUnixMilliseconds: Int

        public init(
            jobID: String, kind: String = "", state: JobState = .unspecified, progressFraction: Double = 0,
            progressText: String = "", elapsed: Duration = .zero, tasksDone: Int = 0, tasksTotal: Int = 0,
            tasksRunning: Int = 0, retries: Int = 0, errorMessage: String = "", submittedAtUnixMilliseconds: Int = 0
        ) {
            self.jobID = jobID
            self.kind = kind
            self.state = state
            self.progressFraction = progressFraction
            self.progressText = progressText
            self.elapsed = elapsed
            self.tasksDone = tasksDone
            self.tasksTotal = tasksTotal
            self.tasksRunning = tasksRunning
            self.retries = retries
            self.errorMessage = errorMessage
            self.submittedAtUnixMilliseconds = submittedAtUnixMilliseconds
        }
    }

    /// Waits until a job reaches a final state or the timeout passes; the reply is a `.jobStatus` either way.
    public struct WaitRequest: Sendable, Equatable {
        public var jobID: String
        public var timeout: Duration

        public init(jobID: String, timeout: Duration) {
            self.jobID = jobID
            self.timeout = timeout
        }
    }

    public struct JobResultRequest: Sendable, Equatable {
        public var jobID: String

        public init(jobID: String) {
            self.jobID = jobID
        }
    }

    public struct JobResultReply: Sendable, Equatable {
        public var status: JobStatus
        /// The job driver's final report, JSON unless the driver documents another format; empty until the job finishes.
        public var report: [UInt8]

        public init(status: JobStatus, report: [UInt8] = []) {
            self.status = status
            self.report = report
        }
    }
}

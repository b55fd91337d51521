extension WireMessage {
    /// One attempt of one task: the key under which results are deduplicated.
    public struct TaskRef: Sendable, Hashable {
        public var jobID: String
        public var taskID: Int
        /// 1 for the first attempt.
        public var attempt: Int

        public init(jobID: String, taskID: Int, attempt: Int) {
            self.jobID = jobID
            self.taskID = taskID
            self.attempt = attempt
        }
    }

    /// Sent by a worker on its own thread at the interval from `Welcome`.
    public struct Heartbeat: Sendable, Equatable {
        public var workerID: String
        /// Increases by one with every heartbeat of a connection.
        public var sequence: UInt64
        public var runningTasks: [TaskRef]
        public var slotsUsed: Int
        public var tasksDone: Int
        /// Lowercase hex sha256 digests of the artifacts in the worker's cache.
        public var cachedArtifacts: [String]

        public init(
            workerID: String, sequence: UInt64, runningTasks: [TaskRef] = [], slotsUsed: Int = 0, tasksDone: Int = 0,
            cachedArtifacts: [String] = []
        ) {
            self.workerID = workerID
            self.sequence = sequence
            self.runningTasks = runningTasks
            self.slotsUsed = slotsUsed
            self.tasksDone = tasksDone
            self.cachedArtifacts = cachedArtifacts
        }
    }

    /// One task attempt sent from the coordinator to a worker.
    public struct TaskAssignment: Sendable, Equatable {
        public var jobID: String
        public var taskID: Int
        public var attempt: Int
        /// Job kind that selects the worker's task executor, for example "matmul".
        public var kind: String
        /// Opaque to the runtime; the job's driver writes it and the kind's executor reads it.
        public var payload: [UInt8]
        /// Lowercase hex sha256 digests the worker must hold before it runs the task.
        public var requiredArtifacts: [String]
        public var seed: UInt64

        public init(
            jobID: String, taskID: Int, attempt: Int, kind: String, payload: [UInt8] = [],
            requiredArtifacts: [String] = [], seed: UInt64 = 0
        ) {
            self.jobID = jobID
            self.taskID = taskID
            self.attempt = attempt
            self.kind = kind
            self.payload = payload
            self.requiredArtifacts = requiredArtifacts
            self.seed = seed
        }

        public var ref: TaskRef { TaskRef(jobID: jobID, taskID: taskID, attempt: attempt) }
    }

    public enum TaskOutcome: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know.
        case unspecified
        case ok
        /// The task itself failed; the job fails and the task is not retried.
        case error
        /// The task stopped because its job was cancelled.
        case cancelled
        /// The worker gave the task back unfinished (for example while draining); it may run elsewhere.
        case released
    }

    /// The outcome of one task attempt, sent from a worker to the coordinator.
    public struct TaskResult: Sendable, Equatable {
        public var jobID: String
        public var taskID: Int
        public var attempt: Int
        public var outcome: TaskOutcome
        public var payload: [UInt8]
        /// Set when `outcome` is `.error`.
        public var errorMessage: String
        public var duration: Duration
        public var workerID: String

        public init(
            jobID: String, taskID: Int, attempt: Int, outcome: TaskOutcome, payload: [UInt8] = [],
            errorMessage: String = "", duration: Duration = .zero, workerID: String = ""
        ) {
            self.jobID = jobID
            self.taskID = taskID
            self.attempt = attempt
            self.outcome = outcome
            self.payload = payload
            self.errorMessage = errorMessage
            self.duration = duration
            self.workerID = workerID
        }

        public var ref: TaskRef { TaskRef(jobID: jobID, taskID: taskID, attempt: attempt) }
    }
}

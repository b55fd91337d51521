extension WireMessage {
    /// From a client: cancel a job. From the coordinator to a worker: stop that job's running tasks.
    public struct Cancel: Sendable, Equatable {
        public var jobID: String
        public var reason: String

        public init(jobID: String, reason: String = "") {
            self.jobID = jobID
            self.reason = reason
        }
    }

    /// Stop taking new tasks. From the coordinator to a worker, or from a worker that is shutting down.
    public struct Drain: Sendable, Equatable {
        public var workerID: String
        public var reason: String

        public init(workerID: String, reason: String = "") {
            self.workerID = workerID
            self.reason = reason
        }
    }

    /// A worker leaves the cluster after its tasks finished or were released.
    public struct Deregister: Sendable, Equatable {
        public var workerID: String
        public var reason: String

        public init(workerID: String, reason: String = "") {
            self.workerID = workerID
            self.reason = reason
        }
    }

    /// Asks the coordinator (and, when `stopWorkers` is set, its workers) to stop.
    public struct Shutdown: Sendable, Equatable {
        public var reason: String
        public var stopWorkers: Bool

        public init(reason: String = "", stopWorkers: Bool = false) {
            self.reason = reason
            self.stopWorkers = stopWorkers
        }
    }

    /// Acknowledges a request that has no other reply.
    public struct Ack: Sendable, Equatable {
        public var detail: String

        public init(detail: String = "") {
            self.detail = detail
        }
    }

    public enum ErrorCode: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know.
        case unspecified
        case versionMismatch
        case authenticationFailed
        case invalidRequest
        case notFound
        case unexpectedMessage
        case shuttingDown
        case internalError
    }

    /// A failure reported to the peer. `message` is readable and never contains a secret.
    public struct ErrorMessage: Sendable, Equatable {
        public var code: ErrorCode
        public var message: String

        public init(code: ErrorCode, message: String) {
            self.code = code
            self.message = message
        }
    }
}

extension WireMessage {
    public enum WorkerState: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know.
        case unspecified
        case alive
        /// Missed several heartbeats but not yet past the dead timeout.
        case suspect
        case dead
        /// Finishing its running tasks and accepting no new ones.
        case draining
        /// Deregistered cleanly.
        case left
    }

    /// One worker as `elide status` shows it.
    public struct WorkerStatus: Sendable, Equatable {
        public var workerID: String
        public var name: String
        /// `host:port` of the worker's connection, as observed by the coordinator.
        public var address: String
        public var processID: Int
        public var state: WorkerState
        public var slotsUsed: Int
        public var slotsTotal: Int
        public var tasksDone: Int
        public var lastHeartbeatAge: Duration
        public var memoryBytes: Int
        public var hostName: String
        public var runningTasks: [TaskRef]

        public init(
            workerID: String, name: String = "", address: String = "", processID: Int = 0,
            state: WorkerState = .unspecified, slotsUsed: Int = 0, slotsTotal: Int = 0, tasksDone: Int = 0,
            lastHeartbeatAge: Duration = .zero, memoryBytes: Int = 0, hostName: String = "",
            runningTasks: [TaskRef] = []
        ) {
            self.workerID = workerID
            self.name = name
            self.address = address
            self.processID = processID
            self.state = state
            self.slotsUsed = slotsUsed
            self.slotsTotal = slotsTotal
            self.tasksDone = tasksDone
            self.lastHeartbeatAge = lastHeartbeatAge
            self.memoryBytes = memoryBytes
            self.hostName = hostName
            self.runningTasks = runningTasks
        }
    }

    /// Asks for the cluster's state; an empty `jobID` lists every job.
    public struct StatusRequest: Sendable, Equatable {
        public var jobID: String

        public init(jobID: String = "") {
            self.jobID = jobID
        }
    }

    public struct StatusReply: Sendable, Equatable {
        public var workers: [WorkerStatus]
        public var jobs: [JobStatus]
        public var coordinatorID: String
        public var coordinatorAddress: String
        public var coordinatorProcessID: Int
        public var uptime: Duration
        public var protocolVersion: UInt32

        public init(
            workers: [WorkerStatus] = [], jobs: [JobStatus] = [], coordinatorID: String = "",
            coordinatorAddress: String = "", coordinatorProcessID: Int = 0, uptime: Duration = .zero,
            protocolVersion: UInt32 = WireProtocol.version
        ) {
            self.workers = workers
            self.jobs = jobs
            self.coordinatorID = coordinatorID
            self.coordinatorAddress = coordinatorAddress
            self.coordinatorProcessID = coordinatorProcessID
            self.uptime = uptime
            self.protocolVersion = protocolVersion
        }
    }
}

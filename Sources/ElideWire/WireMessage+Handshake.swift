extension WireMessage {
    /// Kind of peer that opens a connection to the coordinator.
    public enum Role: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know.
        case unspecified
        /// A worker daemon that runs tasks.
        case worker
        /// A command-line client or script that submits jobs and reads status.
        case client
    }

    /// First frame on every connection, sent by the coordinator.
    public struct Challenge: Sendable, Equatable {
        /// Random bytes (`WireProtocol.nonceBytes` of them) that the peer signs with the cluster token.
        public var nonce: [UInt8]
        public var protocolVersion: UInt32

        public init(nonce: [UInt8], protocolVersion: UInt32 = WireProtocol.version) {
            self.nonce = nonce
            self.protocolVersion = protocolVersion
        }
    }

    /// The peer's response to a `Challenge`: who it is, what it offers, and the HMAC that proves it has the token.
    public struct Hello: Sendable, Equatable {
        public var protocolVersion: UInt32
        public var role: Role
        /// HMAC-SHA256 keyed with the cluster token over the challenge nonce; `Handshake` fills it in.
        public var hmac: [UInt8]
        public var workerName: String
        /// Empty on first registration; the id from the last `Welcome` when a worker reconnects.
        public var workerID: String
        public var slots: Int
        public var memoryBytes: Int
        public var processID: Int
        public var hostName: String
        /// Address the worker serves on, if any; informational.
        public var listenAddress: String
        public var cacheDirectory: String
        /// Lowercase hex sha256 digests of the artifacts in the worker's cache.
        public var cachedArtifacts: [String]
        /// Tasks still running on a worker that reconnects after losing the coordinator.
        public var runningTasks: [TaskRef]

        public init(
            protocolVersion: UInt32 = WireProtocol.version, role: Role, hmac: [UInt8] = [], workerName: String = "",
            workerID: String = "", slots: Int = 0, memoryBytes: Int = 0, processID: Int = 0, hostName: String = "",
            listenAddress: String = "", cacheDirectory: String = "", cachedArtifacts: [String] = [],
            runningTasks: [TaskRef] = []
        ) {
            self.protocolVersion = protocolVersion
            self.role = role
            self.hmac = hmac
            self.workerName = workerName
            self.workerID = workerID
            self.slots = slots
            self.memoryBytes = memoryBytes
            self.processID = processID
            self.hostName = hostName
            self.listenAddress = listenAddress
            self.cacheDirectory = cacheDirectory
            self.cachedArtifacts = cachedArtifacts
            self.runningTasks = runningTasks
        }
    }

    /// The coordinator's acceptance of a `Hello`.
    public struct Welcome: Sendable, Equatable {
        /// Id assigned to a worker; empty for clients.
        public var workerID: String
        public var heartbeatInterval: Duration
        public var protocolVersion: UInt32
        /// Random id of this coordinator process, so a worker can tell that the coordinator restarted.
        public var coordinatorID: String

        public init(
            workerID: String = "", heartbeatInterval: Duration = .seconds(1),
            protocolVersion: UInt32 = WireProtocol.version, coordinatorID: String = ""
        ) {
            self.workerID = workerID
            self.heartbeatInterval = heartbeatInterval
            self.protocolVersion = protocolVersion
            self.coordinatorID = coordinatorID
        }
    }
}

import ElideWire
import Foundation

/// A client connection to the coordinator, as the CLI and scripts use it: one request, one reply.
public final class ClusterClient: Sendable {
    public let address: WireAddress
    private let connection: FramedConnection

    /// Connects and authenticates as a client.
    public init(address: WireAddress, token: ClusterToken, timeout: Duration = .seconds(5)) throws {
        self.address = address
        do {
            connection = try FramedConnection.connect(to: address, timeout: timeout)
        } catch {
            throw ClusterClientError.unreachable(address: address.description, reason: "\(error)")
        }
        _ = try Handshake.introduce(
            WireMessage.Hello(role: .client, processID: Int(getpid())), on: connection, token: token, timeout: timeout)
    }

    deinit { connection.close() }

    /// Submits a job; returns its id once the coordinator journaled it.
    public func submit(_ spec: JobSpec) throws -> JobID {
        var options = spec.options
        options["seed"] = String(spec.seed)
        let reply = try request(.jobSubmit(WireMessage.JobSubmit(kind: spec.kind, options: options)))
        guard case .jobSubmitReply(let submitted) = reply, let job = JobID(parsing: submitted.jobID) else {
            throw ClusterClientError.unexpectedReply(reply.name)
        }
        return job
    }

    public func status() throws -> ClusterStatus {
        let reply = try request(.statusRequest(WireMessage.StatusRequest()))
        guard case .statusReply(let status) = reply else { throw ClusterClientError.unexpectedReply(reply.name) }
        return ClusterStatus(wire: status)
    }

    /// Returns a job's status with its report once it finished.
    public func result(_ job: JobID) throws -> JobStatus {
        let reply = try request(.jobResultRequest(WireMessage.JobResultRequest(jobID: job.description)))
        guard case .jobResultReply(let result) = reply else { throw ClusterClientError.unexpectedReply(reply.name) }
        let report =
            result.report.isEmpty ? nil : try? ClusterJSON.decoder.decode(JobReport.self, from: Data(result.report))
        return JobStatus(wire: result.status, report: report)
    }

    /// Waits until the job finished or `timeout` passed; returns its status either way.
    public func wait(_ job: JobID, timeout: Duration) throws -> JobStatus {
        let reply = try request(.waitRequest(WireMessage.WaitRequest(jobID: job.description, timeout: timeout)))
        guard case .jobStatus(let status) = reply else { throw ClusterClientError.unexpectedReply(reply.name) }
        return JobStatus(wire: status)
    }

    public func cancel(_ job: JobID) throws -> JobStatus {
        let reply = try request(.cancel(WireMessage.Cancel(jobID: job.description, reason: "cancelled from the CLI")))
        guard case .jobStatus(let status) = reply else { throw ClusterClientError.unexpectedReply(reply.name) }
        return JobStatus(wire: status)
    }

    /// Asks the coordinator to stop as on SIGTERM.
    public func shutdown() throws {
        _ = try request(.shutdown(WireMessage.Shutdown(reason: "requested by a client")))
    }

    private func request(_ message: WireMessage) throws -> WireMessage {
        try connection.send(message)
        let reply = try connection.receive(timeout: .seconds(3700))
        if case .error(let failure) = reply {
            throw ClusterClientError.rejected(code: failure.code.rawValue, message: failure.message)
        }
        return reply
    }
}

/// Failures of a client request.
public enum ClusterClientError: Error, CustomStringConvertible, Equatable {
    case unreachable(address: String, reason: String)
    case rejected(code: String, message: String)
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unreachable(let address, let reason):
            return "cannot reach the coordinator at \(address): \(reason); start one with 'elide cluster up' "
                + "or pass --coordinator HOST:PORT"
        case .rejected(_, let message):
            return message
        case .unexpectedReply(let name):
            return "the coordinator sent an unexpected \(name) reply; run the same Elide release everywhere"
        }
    }
}

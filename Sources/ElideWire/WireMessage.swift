/// One message on the wire: the Swift form of the `Envelope` in `proto/elide.proto`.
///
/// Each case carries a plain value type nested in `WireMessage`, so no caller sees protobuf-c types.
/// `WireCodec` converts between these values and protobuf bytes.
public enum WireMessage: Sendable, Equatable {
    case challenge(Challenge)
    case hello(Hello)
    case welcome(Welcome)
    case heartbeat(Heartbeat)
    case taskAssignment(TaskAssignment)
    case taskResult(TaskResult)
    case tensorChunk(TensorChunk)
    case artifactRequest(ArtifactRequest)
    case artifactChunk(ArtifactChunk)
    case jobSubmit(JobSubmit)
    case jobSubmitReply(JobSubmitReply)
    case statusRequest(StatusRequest)
    case statusReply(StatusReply)
    case jobResultRequest(JobResultRequest)
    case jobResultReply(JobResultReply)
    case waitRequest(WaitRequest)
    case jobStatus(JobStatus)
    case cancel(Cancel)
    case drain(Drain)
    case deregister(Deregister)
    case shutdown(Shutdown)
    case ack(Ack)
    case error(ErrorMessage)

    /// The case name in snake case, as the `oneof` field is named in the schema (for logs and errors).
    public var name: String {
        switch self {
        case .challenge: return "challenge"
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .heartbeat: return "heartbeat"
        case .taskAssignment: return "task_assignment"
        case .taskResult: return "task_result"
        case .tensorChunk: return "tensor_chunk"
        case .artifactRequest: return "artifact_request"
        case .artifactChunk: return "artifact_chunk"
        case .jobSubmit: return "job_submit"
        case .jobSubmitReply: return "job_submit_reply"
        case .statusRequest: return "status_request"
        case .statusReply: return "status_reply"
        case .jobResultRequest: return "job_result_request"
        case .jobResultReply: return "job_result_reply"
        case .waitRequest: return "wait_request"
        case .jobStatus: return "job_status"
        case .cancel: return "cancel"
        case .drain: return "drain"
        case .deregister: return "deregister"
        case .shutdown: return "shutdown"
        case .ack: return "ack"
        case .error: return "error"
        }
    }
}

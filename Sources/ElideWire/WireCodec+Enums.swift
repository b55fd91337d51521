import ElideProto

// MARK: - Enum mapping between Swift and protobuf-c

/// proto3 enums are open: a value this version does not know decodes as `.unspecified`.
extension WireCodec {
    static func cRole(_ value: WireMessage.Role) -> Elide__V1__Role {
        switch value {
        case .unspecified: return ELIDE__V1__ROLE__ROLE_UNSPECIFIED
        case .worker: return ELIDE__V1__ROLE__ROLE_WORKER
        case .client: return ELIDE__V1__ROLE__ROLE_CLIENT
        }
    }

    static func role(_ value: Elide__V1__Role) -> WireMessage.Role {
        switch value {
        case ELIDE__V1__ROLE__ROLE_WORKER: return .worker
        case ELIDE__V1__ROLE__ROLE_CLIENT: return .client
        default: return .unspecified
        }
    }

    static func cTaskOutcome(_ value: WireMessage.TaskOutcome) -> Elide__V1__TaskOutcome {
        switch value {
        case .unspecified: return ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_UNSPECIFIED
        case .ok: return ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_OK
        case .error: return ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_ERROR
        case .cancelled: return ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_CANCELLED
        case .released: return ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_RELEASED
        }
    }

    static func taskOutcome(_ value: Elide__V1__TaskOutcome) -> WireMessage.TaskOutcome {
        switch value {
        case ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_OK: return .ok
        case ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_ERROR: return .error
        case ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_CANCELLED: return .cancelled
        case ELIDE__V1__TASK_OUTCOME__TASK_OUTCOME_RELEASED: return .released
        default: return .unspecified
        }
    }

    static func cTensorDType(_ value: WireMessage.TensorDType) -> Elide__V1__TensorDType {
        switch value {
        case .unspecified: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_UNSPECIFIED
        case .f32: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F32
        case .f16: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F16
        case .bf16: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_BF16
        case .f64: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F64
        case .i8: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I8
        case .u8: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_U8
        case .i16: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I16
        case .i32: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I32
        case .i64: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I64
        case .q4_0: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q4_0
        case .q4_1: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q4_1
        case .q8_0: return ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q8_0
        }
    }

    static func tensorDType(_ value: Elide__V1__TensorDType) -> WireMessage.TensorDType {
        switch value {
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F32: return .f32
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F16: return .f16
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_BF16: return .bf16
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_F64: return .f64
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I8: return .i8
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_U8: return .u8
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I16: return .i16
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I32: return .i32
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_I64: return .i64
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q4_0: return .q4_0
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q4_1: return .q4_1
        case ELIDE__V1__TENSOR_DTYPE__TENSOR_DTYPE_Q8_0: return .q8_0
        default: return .unspecified
        }
    }

    static func cCompression(_ value: WireMessage.Compression) -> Elide__V1__Compression {
        switch value {
        case .none: return ELIDE__V1__COMPRESSION__COMPRESSION_NONE
        case .zstd: return ELIDE__V1__COMPRESSION__COMPRESSION_ZSTD
        }
    }

    /// Returns nil for a compression this version does not know, which a receiver must reject.
    static func compression(_ value: Elide__V1__Compression) -> WireMessage.Compression? {
        switch value {
        case ELIDE__V1__COMPRESSION__COMPRESSION_NONE: return WireMessage.Compression.none
        case ELIDE__V1__COMPRESSION__COMPRESSION_ZSTD: return .zstd
        default: return nil
        }
    }

    static func cJobState(_ value: WireMessage.JobState) -> Elide__V1__JobState {
        switch value {
        case .unspecified: return ELIDE__V1__JOB_STATE__JOB_STATE_UNSPECIFIED
        case .queued: return ELIDE__V1__JOB_STATE__JOB_STATE_QUEUED
        case .running: return ELIDE__V1__JOB_STATE__JOB_STATE_RUNNING
        case .succeeded: return ELIDE__V1__JOB_STATE__JOB_STATE_SUCCEEDED
        case .failed: return ELIDE__V1__JOB_STATE__JOB_STATE_FAILED
        case .cancelled: return ELIDE__V1__JOB_STATE__JOB_STATE_CANCELLED
        }
    }

    static func jobState(_ value: Elide__V1__JobState) -> WireMessage.JobState {
        switch value {
        case ELIDE__V1__JOB_STATE__JOB_STATE_QUEUED: return .queued
        case ELIDE__V1__JOB_STATE__JOB_STATE_RUNNING: return .running
        case ELIDE__V1__JOB_STATE__JOB_STATE_SUCCEEDED: return .succeeded
        case ELIDE__V1__JOB_STATE__JOB_STATE_FAILED: return .failed
        case ELIDE__V1__JOB_STATE__JOB_STATE_CANCELLED: return .cancelled
        default: return .unspecified
        }
    }

    static func cWorkerState(_ value: WireMessage.WorkerState) -> Elide__V1__WorkerState {
        switch value {
        case .unspecified: return ELIDE__V1__WORKER_STATE__WORKER_STATE_UNSPECIFIED
        case .alive: return ELIDE__V1__WORKER_STATE__WORKER_STATE_ALIVE
        case .suspect: return ELIDE__V1__WORKER_STATE__WORKER_STATE_SUSPECT
        case .dead: return ELIDE__V1__WORKER_STATE__WORKER_STATE_DEAD
        case .draining: return ELIDE__V1__WORKER_STATE__WORKER_STATE_DRAINING
        case .left: return ELIDE__V1__WORKER_STATE__WORKER_STATE_LEFT
        }
    }

    static func workerState(_ value: Elide__V1__WorkerState) -> WireMessage.WorkerState {
        switch value {
        case ELIDE__V1__WORKER_STATE__WORKER_STATE_ALIVE: return .alive
        case ELIDE__V1__WORKER_STATE__WORKER_STATE_SUSPECT: return .suspect
        case ELIDE__V1__WORKER_STATE__WORKER_STATE_DEAD: return .dead
        case ELIDE__V1__WORKER_STATE__WORKER_STATE_DRAINING: return .draining
        case ELIDE__V1__WORKER_STATE__WORKER_STATE_LEFT: return .left
        default: return .unspecified
        }
    }

    static func cErrorCode(_ value: WireMessage.ErrorCode) -> Elide__V1__ErrorCode {
        switch value {
        case .unspecified: return ELIDE__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED
        case .versionMismatch: return ELIDE__V1__ERROR_CODE__ERROR_CODE_VERSION_MISMATCH
        case .authenticationFailed: return ELIDE__V1__ERROR_CODE__ERROR_CODE_AUTHENTICATION_FAILED
        case .invalidRequest: return ELIDE__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST
        case .notFound: return ELIDE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND
        case .unexpectedMessage: return ELIDE__V1__ERROR_CODE__ERROR_CODE_UNEXPECTED_MESSAGE
        case .shuttingDown: return ELIDE__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN
        case .internalError: return ELIDE__V1__ERROR_CODE__ERROR_CODE_INTERNAL
        }
    }

    static func errorCode(_ value: Elide__V1__ErrorCode) -> WireMessage.ErrorCode {
        switch value {
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_VERSION_MISMATCH: return .versionMismatch
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_AUTHENTICATION_FAILED: return .authenticationFailed
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_INVALID_REQUEST: return .invalidRequest
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND: return .notFound
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_UNEXPECTED_MESSAGE: return .unexpectedMessage
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_SHUTTING_DOWN: return .shuttingDown
        case ELIDE__V1__ERROR_CODE__ERROR_CODE_INTERNAL: return .internalError
        default: return .unspecified
        }
    }
}

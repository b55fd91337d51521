/// Failures of the federated compute functions: shapes that do not fit and payloads that cannot be decoded.
public enum ComputeError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The architecture's sizes do not produce a valid network.
    case invalidArchitecture(String)
    /// A parameter vector has the wrong length for the model it is meant for.
    case parameterCountMismatch(expected: Int, actual: Int)
    /// A serialized model or head is not in the expected format.
    case invalidSerializedModel(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let message):
            return "invalid network architecture: \(message)"
        case .parameterCountMismatch(let expected, let actual):
            return "expected \(expected) shared parameters but got \(actual); were they produced for a different "
                + "architecture?"
        case .invalidSerializedModel(let message):
            return "cannot decode the serialized model: \(message)"
        }
    }
}

/// Failures of federated round logic: invalid settings, impossible partitions and results that do not match
/// the work they belong to.
public enum FederatedError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A setting is outside its valid range, and `expected` describes the accepted values.
    case invalidSetting(name: String, value: String, expected: String)
    /// The partitioner could not give every client enough samples.
    case partitionFailed(String)
    /// A batch of results does not match the work that was sent out.
    case unexpectedResult(String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let value, let expected):
            return "invalid value \(value) for \(name): expected \(expected)"
        case .partitionFailed(let message):
            return "cannot partition the data: \(message)"
        case .unexpectedResult(let message):
            return "unexpected federated result: \(message)"
        }
    }
}

import Foundation

/// JSON coding shared by reports, status output and config files: sorted keys, so equal values print
/// identically.
public enum ClusterJSON {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder { JSONDecoder() }
}

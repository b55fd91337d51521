/// Constants of the wire protocol shared by every peer.
public enum WireProtocol {
    /// Version sent in `Challenge` and `Hello`. Bump it on any schema change that an older peer would misread.
    public static let version: UInt32 = 1

    /// Default maximum frame size: 64 MiB. Frames above the limit are rejected before any allocation.
    public static let defaultMaxFrameBytes = 64 << 20

    /// Maximum data size of one `TensorChunk` or `ArtifactChunk`: 4 MiB, far below protobuf's 2 GiB limit.
    public static let maxChunkBytes = 4 << 20

    /// Size of the random nonce in a `Challenge`.
    public static let nonceBytes = 32

    /// Size of the big-endian length prefix of a frame.
    public static let framePrefixBytes = 4
}

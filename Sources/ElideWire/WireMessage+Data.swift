extension WireMessage {
    /// Element type of a tensor on the wire; `TensorDType+Layout.swift` gives byte sizes.
    public enum TensorDType: String, Sendable, Equatable, CaseIterable {
        /// Sent as 0, or any value this version does not know; `TensorAssembler` rejects it.
        case unspecified
        case f32, f16, bf16, f64
        case i8, u8, i16, i32, i64
        /// GGML block formats: 32 values per block of 18 (`q4_0`), 20 (`q4_1`) and 34 (`q8_0`) bytes.
        case q4_0, q4_1, q8_0
    }

    public enum Compression: String, Sendable, Equatable, CaseIterable {
        case none
        case zstd
    }

    /// One piece of a tensor. `TensorCodec` produces the chunks of a tensor in order and `TensorAssembler`
    /// checks and joins them; every chunk repeats the tensor's id, dtype and shape.
    public struct TensorChunk: Sendable, Equatable {
        /// Chosen by the sender; unique among the tensors in flight on a connection.
        public var tensorID: String
        public var dtype: TensorDType
        public var shape: [Int]
        public var chunkIndex: Int
        public var chunkCount: Int
        /// Uncompressed size of the whole tensor.
        public var totalBytes: Int
        public var compression: Compression
        /// Uncompressed size of this chunk's data.
        public var rawLength: Int
        public var data: [UInt8]

        public init(
            tensorID: String, dtype: TensorDType, shape: [Int], chunkIndex: Int, chunkCount: Int, totalBytes: Int,
            compression: Compression, rawLength: Int, data: [UInt8]
        ) {
            self.tensorID = tensorID
            self.dtype = dtype
            self.shape = shape
            self.chunkIndex = chunkIndex
            self.chunkCount = chunkCount
            self.totalBytes = totalBytes
            self.compression = compression
            self.rawLength = rawLength
            self.data = data
        }
    }

    /// Asks the coordinator for an artifact by content address.
    public struct ArtifactRequest: Sendable, Equatable {
        /// Lowercase hex sha256 of the artifact's bytes.
        public var sha256: String
        /// Byte offset to resume from; 0 for the whole artifact.
        public var offset: Int

        public init(sha256: String, offset: Int = 0) {
            self.sha256 = sha256
            self.offset = offset
        }
    }

    /// One piece of an artifact; `ArtifactSender` produces them and `ArtifactReceiver` verifies them.
    public struct ArtifactChunk: Sendable, Equatable {
        public var sha256: String
        public var offset: Int
        public var totalSize: Int
        public var data: [UInt8]
        public var isLast: Bool

        public init(sha256: String, offset: Int, totalSize: Int, data: [UInt8], isLast: Bool) {
            self.sha256 = sha256
            self.offset = offset
            self.totalSize = totalSize
            self.data = data
            self.isLast = isLast
        }
    }
}

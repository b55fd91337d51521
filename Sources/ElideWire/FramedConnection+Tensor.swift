import ElideProto

/// Tensor transfer over a framed connection.
extension FramedConnection {
    /// Sends `tensor` as `TensorChunk` messages. Raw chunks are packed straight from the tensor's storage,
    /// which saves a copy per chunk over sending the messages of `TensorCodec.chunks(of:tensorID:)`.
    public func sendTensor(_ tensor: WireTensor, tensorID: String, codec: TensorCodec = TensorCodec()) throws {
        try codec.forEachEncodedChunk(of: tensor, tensorID: tensorID) { chunk, data in
            try send(.tensorChunk(chunk), bulk: data)
        }
    }

    /// Receives the chunks of one tensor and returns it, for conversations in which nothing else arrives
    /// in between.
    ///
    /// - Parameter timeout: longest wait for each chunk.
    /// - Throws: `WireError.invalidMessage` when another message arrives first, `TensorCodecError` for chunks
    ///   that do not fit together, and receive errors.
    public func receiveTensor(
        timeout: Duration? = nil, maxTensorBytes: Int = 16 << 30
    ) throws -> (tensorID: String, tensor: WireTensor) {
        var assembler = TensorAssembler(maxTensorBytes: maxTensorBytes)
        while true {
            // Chunk data goes from the unpacked message straight into the tensor, skipping a Swift array.
            let result = try withReceivedEnvelope(timeout: timeout) { envelope -> (String, WireTensor?) in
                guard envelope.pointee.body_case == ELIDE__V1__ENVELOPE__BODY_TENSOR_CHUNK,
                    let chunk = envelope.pointee.tensor_chunk
                else {
                    let name = (try? WireCodec.message(from: envelope.pointee).name) ?? "an unknown message"
                    throw WireError.invalidMessage("expected tensor_chunk, received \(name)")
                }
                let header = try WireCodec.tensorChunk(chunk.pointee, copyingData: false)
                let data = UnsafeRawBufferPointer(start: chunk.pointee.data.data, count: chunk.pointee.data.len)
                return (header.tensorID, try assembler.add(header, data: data))
            }
            if let tensor = result.1 {
                return (result.0, tensor)
            }
        }
    }
}

import Testing

@testable import ElideWire

@Suite struct TensorCodecTests {
    static let mebibytes4 = 4 << 20

    /// Sizes at and around the 4 MiB chunk limit, with the chunk counts they must produce.
    static let sizes: [(bytes: Int, chunks: Int)] = [
        (0, 1), (1, 1), (mebibytes4, 1), (mebibytes4 + 1, 2), (20 << 20, 5),
    ]

    @Test(arguments: [0, 1, 2, 3, 4])
    func roundTripWithoutCompression(sizeIndex: Int) throws {
        let (size, expectedChunks) = Self.sizes[sizeIndex]
        let tensor = try WireTensor(dtype: .u8, shape: [size], bytes: seededBytes(count: size, seed: UInt64(size)))
        let codec = TensorCodec(compression: .never)
        let chunks = codec.chunks(of: tensor, tensorID: "t-\(size)")
        #expect(chunks.count == expectedChunks)
        for chunk in chunks {
            #expect(chunk.compression == .none)
            #expect(chunk.data.count <= Self.mebibytes4)
            #expect(chunk.rawLength == chunk.data.count)
        }
        #expect(try assemble(chunks) == tensor)
    }

    @Test(arguments: [0, 1, 2, 3, 4])
    func roundTripWithCompression(sizeIndex: Int) throws {
        let (size, expectedChunks) = Self.sizes[sizeIndex]
        // Four distinct byte values: zstd shrinks this data to about a quarter.
        let bytes = seededBytes(count: size, seed: UInt64(size) + 100, alphabet: 4)
        let tensor = try WireTensor(dtype: .i8, shape: [size], bytes: bytes)
        let codec = TensorCodec(compression: .always)
        let chunks = codec.chunks(of: tensor, tensorID: "z-\(size)")
        #expect(chunks.count == expectedChunks)
        for chunk in chunks where chunk.rawLength >= 1024 {
            #expect(chunk.compression == .zstd)
            #expect(chunk.data.count < chunk.rawLength / 2)
        }
        for chunk in chunks {
            #expect(chunk.data.count <= Self.mebibytes4)
        }
        #expect(try assemble(chunks) == tensor)
    }

    @Test func automaticPolicyCompressesOnlyWhenItPays() throws {
        let codec = TensorCodec()
        let size = 1 << 20
        let random = try WireTensor(dtype: .u8, shape: [size], bytes: seededBytes(count: size, seed: 1))
        #expect(codec.chunks(of: random, tensorID: "r").allSatisfy { $0.compression == .none })

        let sparse = try WireTensor(dtype: .u8, shape: [size], bytes: seededBytes(count: size, seed: 2, alphabet: 2))
        #expect(codec.chunks(of: sparse, tensorID: "s").allSatisfy { $0.compression == .zstd })

        // Below the 64 KiB threshold nothing is compressed, however redundant.
        let small = try WireTensor(dtype: .u8, shape: [1000], bytes: [UInt8](repeating: 0, count: 1000))
        #expect(codec.chunks(of: small, tensorID: "m").allSatisfy { $0.compression == .none })
    }

    @Test func float32TensorRoundTrips() throws {
        let values = (0..<3000).map { Float($0) * 0.25 - 100 }
        let tensor = try WireTensor(float32: values, shape: [30, 100])
        let chunks = TensorCodec(chunkBytes: 1000, compression: .always).chunks(of: tensor, tensorID: "f")
        #expect(chunks.count == 12)
        let result = try assemble(chunks)
        #expect(result.shape == [30, 100])
        #expect(result.float32Values() == values)
    }

    @Test func blockFormatsNeedWholeBlocks() throws {
        #expect(WireMessage.TensorDType.q4_1.byteCount(shape: [576, 64]) == 576 * 64 / 32 * 20)
        #expect(WireMessage.TensorDType.q8_0.byteCount(shape: [32]) == 34)
        #expect(WireMessage.TensorDType.q4_0.byteCount(shape: [31]) == nil)
        #expect(WireMessage.TensorDType.f32.byteCount(shape: [-1, 4]) == nil)
        #expect(WireMessage.TensorDType.f32.byteCount(shape: [Int.max, 4]) == nil)
        #expect(WireMessage.TensorDType.unspecified.byteCount(shape: [4]) == nil)
        #expect(throws: TensorCodecError.sizeMismatch(dtype: .f32, shape: [2], expectedBytes: 8, actualBytes: 7)) {
            try WireTensor(dtype: .f32, shape: [2], bytes: [UInt8](repeating: 0, count: 7))
        }
    }

    @Test func tensorCrossesRealSocket() throws {
        let size = 20 << 20
        let tensor = try WireTensor(dtype: .u8, shape: [size], bytes: seededBytes(count: size, seed: 3, alphabet: 16))
        let received = Box<WireTensor?>(nil)
        let pair = try LoopbackPair { connection in
            let framed = FramedConnection(connection)
            var assembler = TensorAssembler()
            while let message = try? framed.receive(timeout: .seconds(30)) {
                guard case .tensorChunk(let chunk) = message else { return }
                if let tensor = try? assembler.add(chunk) {
                    received.value = tensor
                    return
                }
            }
        }
        let client = try pair.connect()
        try TensorCodec().forEachChunk(of: tensor, tensorID: "wire") { try client.send(.tensorChunk($0)) }
        pair.finish()
        #expect(received.value == tensor)
    }

    @Test(arguments: [TensorCodec.CompressionPolicy.never, .always])
    func sendTensorRoundTrip(policy: TensorCodec.CompressionPolicy) throws {
        let size = 20 << 20
        let tensor = try WireTensor(
            dtype: .i8, shape: [size / 64, 64], bytes: seededBytes(count: size, seed: 4, alphabet: 8))
        let received = Box<(String, WireTensor)?>(nil)
        let pair = try LoopbackPair { connection in
            received.value = try? FramedConnection(connection).receiveTensor(timeout: .seconds(30))
        }
        let client = try pair.connect()
        try client.sendTensor(tensor, tensorID: "direct", codec: TensorCodec(compression: policy))
        pair.finish()
        let (tensorID, result) = try #require(received.value)
        #expect(tensorID == "direct")
        #expect(result == tensor)
        if policy == .always {
            #expect(client.bytesSent < size / 2)
        } else {
            #expect(client.bytesSent > size)
        }
    }

    @Test func receiveTensorRejectsOtherMessages() throws {
        let pair = try LoopbackPair { connection in
            try? FramedConnection(connection).send(.ack(WireMessage.Ack()))
        }
        let client = try pair.connect()
        #expect(throws: WireError.invalidMessage("expected tensor_chunk, received ack")) {
            try client.receiveTensor(timeout: .seconds(10))
        }
        pair.finish()
    }

    // MARK: - Reassembly errors

    private func sampleChunks(size: Int = 10_000, chunkBytes: Int = 4000) throws -> [WireMessage.TensorChunk] {
        let tensor = try WireTensor(dtype: .u8, shape: [size], bytes: seededBytes(count: size, seed: 9))
        return TensorCodec(chunkBytes: chunkBytes, compression: .never).chunks(of: tensor, tensorID: "e")
    }

    @Test func chunkOutOfOrderIsRejected() throws {
        let chunks = try sampleChunks()
        var assembler = TensorAssembler()
        _ = try assembler.add(chunks[0])
        #expect(throws: TensorCodecError.chunkOutOfOrder(tensorID: "e", expectedIndex: 1, receivedIndex: 2)) {
            try assembler.add(chunks[2])
        }
        var fresh = TensorAssembler()
        #expect(throws: TensorCodecError.chunkOutOfOrder(tensorID: "e", expectedIndex: 0, receivedIndex: 1)) {
            try fresh.add(chunks[1])
        }
    }

    @Test func chunkDisagreeingWithFirstIsRejected() throws {
        let chunks = try sampleChunks()
        var assembler = TensorAssembler()
        _ = try assembler.add(chunks[0])
        var changed = chunks[1]
        changed.shape = [5000, 2]
        #expect {
            try assembler.add(changed)
        } throws: { error in
            guard case TensorCodecError.inconsistentChunk(_, 1, let reason) = error else { return false }
            return reason.contains("shape")
        }
    }

    @Test func wrongChunkCountIsRejected() throws {
        var chunks = try sampleChunks()
        for index in chunks.indices { chunks[index].chunkCount = 2 }
        var assembler = TensorAssembler()
        _ = try assembler.add(chunks[0])
        // Chunk 1 claims to be the last but 2000 bytes would still be missing.
        #expect(throws: TensorCodecError.self) { try assembler.add(chunks[1]) }
    }

    @Test func rawLengthMismatchIsRejected() throws {
        var chunks = try sampleChunks()
        chunks[0].rawLength = 3999
        var assembler = TensorAssembler()
        #expect(throws: TensorCodecError.self) { try assembler.add(chunks[0]) }
    }

    @Test func totalThatContradictsShapeIsRejected() throws {
        var chunks = try sampleChunks()
        chunks[0].totalBytes = 12_000
        var assembler = TensorAssembler()
        #expect(
            throws: TensorCodecError.sizeMismatch(
                dtype: .u8, shape: [10_000], expectedBytes: 10_000, actualBytes: 12_000)
        ) {
            try assembler.add(chunks[0])
        }
    }

    @Test func oversizedTensorIsRejectedBeforeReserving() throws {
        let chunks = try sampleChunks()
        var assembler = TensorAssembler(maxTensorBytes: 9_999)
        #expect(throws: TensorCodecError.tooLarge(tensorID: "e", totalBytes: 10_000, maximum: 9_999)) {
            try assembler.add(chunks[0])
        }
    }

    @Test func corruptZstdDataIsRejected() throws {
        let tensor = try WireTensor(dtype: .u8, shape: [100_000], bytes: [UInt8](repeating: 3, count: 100_000))
        var chunks = TensorCodec(compression: .always).chunks(of: tensor, tensorID: "c")
        #expect(chunks[0].compression == .zstd)
        chunks[0].data[chunks[0].data.count / 2] ^= 0xFF
        chunks[0].data.removeLast()
        var assembler = TensorAssembler()
        #expect {
            try assembler.add(chunks[0])
        } throws: { error in
            guard case TensorCodecError.decompressionFailed(let id, 0, _) = error else { return false }
            return id == "c"
        }
    }

    @Test func chunkAfterCompletionIsRejected() throws {
        let chunks = try sampleChunks()
        var assembler = TensorAssembler()
        for chunk in chunks { _ = try assembler.add(chunk) }
        #expect(assembler.isComplete)
        #expect(throws: TensorCodecError.alreadyComplete(tensorID: "e")) { try assembler.add(chunks[2]) }
    }

    @Test func unspecifiedDTypeIsRejected() throws {
        var chunks = try sampleChunks()
        chunks[0].dtype = .unspecified
        var assembler = TensorAssembler()
        #expect(throws: TensorCodecError.invalidLayout(dtype: .unspecified, shape: [10_000])) {
            try assembler.add(chunks[0])
        }
    }

    private func assemble(_ chunks: [WireMessage.TensorChunk]) throws -> WireTensor {
        var assembler = TensorAssembler()
        var result: WireTensor?
        for chunk in chunks {
            #expect(result == nil, "the tensor completed before its last chunk")
            result = try assembler.add(chunk)
        }
        return try #require(result)
    }
}

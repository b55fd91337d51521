import ElideFormats
import ElideModels
import ElideSupport
import ElideTensor
import ElideWire
import Foundation

/// zstd level 1 on two real tensors, through the product's own path: `TensorCodec.chunks` with compression
/// forced on (which includes copying each compressed chunk into its message) and `TensorAssembler.add`
/// (which includes the fresh output array and the append into the tensor).
///
/// - A Q4_1 weight tensor straight from the GGUF file.
/// - An F32 activation tensor: the residual stream entering one layer while the engine runs real text.
struct CompressionBench {
    let options: BenchOptions

    func run() throws {
        let model = try LlamaModel(path: options.model)
        let tensors = [try quantizedTensor(from: model.file), try activationTensor(model: model)]

        for repetition in 1...options.repetitions {
            for (name, tensor) in tensors {
                var record = try measure(tensor)
                record["tensor"] = .text(name)
                record["dtype"] = .text(tensor.dtype.rawValue)
                record["shape"] = .text(tensor.shape.map(String.init).joined(separator: "x"))
                record["repetition"] = .integer(repetition)
                record.print()
            }
        }
    }

    /// Reads the Q4_1 tensor named by `--q4-tensor`, in row-major shape (GGUF lists the innermost dimension
    /// first).
    private func quantizedTensor(from file: GGUFFile) throws -> (String, WireTensor) {
        guard let info = file.tensor(named: options.q4Tensor) else {
            throw BenchFailure("\(file.path) has no tensor named '\(options.q4Tensor)'; pass another --q4-tensor")
        }
        guard info.type == .q4_1 else {
            throw BenchFailure(
                "tensor '\(info.name)' of \(file.path) is stored as \(info.type), not Q4_1; pass a Q4_1 --q4-tensor")
        }
        let tensor = try WireTensor(
            dtype: .q4_1, shape: info.dimensions.reversed(), bytes: Array(file.data(for: info)))
        return (info.name, tensor)
    }

    /// Runs the first `--activation-tokens` tokens of `--text` through the model and returns the hidden states
    /// entering layer `--activation-layer`, as a [tokens, width] Float32 tensor.
    private func activationTensor(model: LlamaModel) throws -> (String, WireTensor) {
        let configuration = model.configuration
        let layer = options.activationLayer
        guard (0..<configuration.blockCount).contains(layer) else {
            throw BenchFailure(
                "--activation-layer \(layer) is outside the model's layers 0...\(configuration.blockCount - 1)")
        }
        guard let text = try? String(contentsOfFile: options.text, encoding: .utf8) else {
            throw BenchFailure("cannot read the text \(options.text); run scripts/fetch-assets or pass --text PATH")
        }
        let tokenizer = try BPETokenizer(gguf: model.file)
        let allTokens = tokenizer.encode(text)
        guard allTokens.count >= options.activationTokens else {
            throw BenchFailure(
                "\(options.text) has \(allTokens.count) tokens, fewer than --activation-tokens "
                    + "\(options.activationTokens); pass a longer text or fewer tokens")
        }
        let tokens = Array(allTokens.prefix(options.activationTokens))

        let pool = ThreadPool(threads: options.threads)
        let session = LlamaSession(model: model, capacity: tokens.count, pool: pool)
        var states: [Float] = []
        session.forward(tokens, logits: .none) { observedLayer, point, values, _ in
            guard observedLayer == layer, case .layerInput = point else { return }
            states.append(contentsOf: values)
        }
        let width = configuration.embeddingLength
        guard states.count == tokens.count * width else {
            throw BenchFailure(
                "the observer saw \(states.count) values of layer \(layer)'s input, expected \(tokens.count * width)")
        }
        let tensor = try WireTensor(float32: states, shape: [tokens.count, width])
        return ("blk.\(layer) input activations", tensor)
    }

    /// Compresses and decompresses `tensor` in loops of at least `--min-seconds`; returns the record.
    private func measure(_ tensor: WireTensor) throws -> BenchRecord {
        let codec = TensorCodec(compression: .always, zstdLevel: 1)
        var chunks: [WireMessage.TensorChunk] = []
        let compress = timedLoop { chunks = codec.chunks(of: tensor, tensorID: "zstd") }

        var restored: WireTensor?
        let decompress = try timedLoop {
            var assembler = TensorAssembler()
            for chunk in chunks {
                restored = try assembler.add(chunk)
            }
        }
        guard restored == tensor else {
            throw BenchFailure("the tensor decompressed by TensorAssembler differs from the original")
        }

        let rawBytes = tensor.bytes.count
        let compressedBytes = chunks.reduce(0) { $0 + $1.data.count }
        var record = BenchRecord(test: "zstd")
        record["level"] = .integer(Int(codec.zstdLevel))
        record["raw_bytes"] = .integer(rawBytes)
        record["compressed_bytes"] = .integer(compressedBytes)
        record["ratio"] = .number(Double(rawBytes) / Double(compressedBytes))
        record["chunks_kept_raw"] = .integer(chunks.filter { $0.compression == .none }.count)
        record["compress_mb_per_s"] = .number(Double(rawBytes) / compress.wall / 1e6)
        record["decompress_mb_per_s"] = .number(Double(rawBytes) / decompress.wall / 1e6)
        // Per second of this thread's CPU time, which other processes on a shared machine barely affect.
        record["compress_mb_per_cpu_s"] = .number(Double(rawBytes) / compress.cpu / 1e6)
        record["decompress_mb_per_cpu_s"] = .number(Double(rawBytes) / decompress.cpu / 1e6)
        // Whether the default policy (a sample must shrink by 5 %) would send this tensor compressed.
        record["default_codec_compresses"] = .flag(tensor.bytes.withUnsafeBytes { TensorCodec().shouldCompress($0) })
        return record
    }

    /// Runs `body` at least 3 times and for at least `--min-seconds`; returns the wall time and the calling
    /// thread's CPU time per run, in seconds.
    private func timedLoop(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        var runs = 0
        let start = MonotonicClock.now()
        let cpuStart = Self.threadCPUNanoseconds()
        var elapsed = 0.0
        repeat {
            try body()
            runs += 1
            elapsed = MonotonicClock.seconds(since: start)
        } while runs < 3 || elapsed < options.minimumSeconds
        let cpu = Double(Self.threadCPUNanoseconds() - cpuStart) / 1e9
        return (elapsed / Double(runs), cpu / Double(runs))
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

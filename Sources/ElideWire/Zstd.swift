import CZstd

/// One-shot zstd compression of single tensor chunks.
enum Zstd {
    /// Compresses `source` at `level`; returns nil when zstd reports an error.
    static func compress(_ source: UnsafeRawBufferPointer, level: Int32) -> [UInt8]? {
        let bound = ZSTD_compressBound(source.count)
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let written = ZSTD_compress(buffer.baseAddress, bound, source.baseAddress, source.count, level)
            if ZSTD_isError(written) != 0 {
                failed = true
                count = 0
            } else {
                count = written
            }
        }
        return failed ? nil : output
    }

    /// Decompresses `source`, which must expand to exactly `rawLength` bytes.
    ///
    /// - Returns: the bytes, or the reason decompression failed.
    static func decompress(_ source: UnsafeRawBufferPointer, rawLength: Int) -> Result<[UInt8], ZstdFailure> {
        var failure: ZstdFailure?
        let output = [UInt8](unsafeUninitializedCapacity: rawLength) { buffer, count in
            let written = ZSTD_decompress(buffer.baseAddress, rawLength, source.baseAddress, source.count)
            if ZSTD_isError(written) != 0 {
                failure = ZstdFailure(reason: String(cString: ZSTD_getErrorName(written)))
                count = 0
            } else if written != rawLength {
                failure = ZstdFailure(reason: "expanded to \(written) bytes instead of \(rawLength)")
                count = 0
            } else {
                count = written
            }
        }
        if let failure { return .failure(failure) }
        return .success(output)
    }
}

struct ZstdFailure: Error {
    var reason: String
}

#if canImport(Glibc)
    import Glibc
#endif

/// Reads whole files for the dataset and image loaders.
enum FileBytes {
    /// Why a file could not be read, in words that follow "cannot read '<path>': ".
    struct Failure: Error {
        let reason: String
    }

    /// Reads the whole regular file at `path`.
    static func read(_ path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(reason: errnoText()) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Failure(reason: errnoText()) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw Failure(reason: "it is not a regular file") }
        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress! + filled, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(reason: errnoText())
            }
            if count == 0 { throw Failure(reason: "the file shrank to \(filled) bytes while it was read") }
            filled += count
        }
        return bytes
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

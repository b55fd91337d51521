#if canImport(Glibc)
    import Glibc
#endif

/// A whole file mapped read-only into memory; the mapping lives as long as this object.
///
/// Pages are read from disk on first access, so mapping a large file costs almost nothing until its
/// bytes are used.
final class MappedFile: @unchecked Sendable {
    // Sendable because the mapping is read-only (PROT_READ) and never remapped after init.

    let path: String
    /// The file's bytes; empty (with a nil base address) for an empty file.
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw GGUFError(.cannotOpen, path: path, problem: "cannot open it: \(GGUFError.errnoText(code))")
        }
        // The mapping stays valid after the descriptor is closed.
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            throw GGUFError(.cannotOpen, path: path, problem: "cannot stat it: \(GGUFError.errnoText(code))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(.cannotOpen, path: path, problem: "it is not a regular file")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            // mmap rejects a zero length; the reader reports the empty file as truncated.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }

        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            let code = errno
            throw GGUFError(
                .cannotOpen, path: path, problem: "cannot map its \(size) bytes: \(GGUFError.errnoText(code))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}

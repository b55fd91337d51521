import CBLAS

#if canImport(Glibc)
    import Glibc
#endif

extension Kernels {
    /// One-time OpenBLAS set-up, run before the first BLAS call.
    ///
    /// - OpenBLAS runs single-threaded inside Elide: parallelism comes from `ThreadPool`, which splits
    ///   work into independent products. OpenBLAS threads on top of the pool would put two busy threads
    ///   on each core of a 2-core machine.
    /// - Debian's OpenBLAS 0.3.21 picks its kernels from a table of known CPUs and falls back to
    ///   Prescott (SSE3, about 5× slower) on newer ones, such as Intel family 6 model 207. When that
    ///   happens and `OPENBLAS_CORETYPE` is not set, the set-up selects SkylakeX (CPUs with AVX-512)
    ///   or Haswell (AVX2, which this module already requires) through OpenBLAS's own
    ///   `gotoblas_dynamic_quit`/`gotoblas_dynamic_init`, the functions it runs at load time.
    static let blasSetup: Void = {
        #if os(Linux) && arch(x86_64)
            if getenv("OPENBLAS_CORETYPE") == nil, String(cString: openblas_get_corename()).lowercased() == "prescott" {
                selectBLASCore(cpuHasAVX512() ? "SkylakeX" : "Haswell")
            }
        #endif
        openblas_set_num_threads(1)
    }()

    /// The kernel family OpenBLAS uses (for example "SkylakeX" or "Haswell"), after Elide's set-up.
    public static var blasCoreName: String {
        _ = blasSetup
        return String(cString: openblas_get_corename())
    }

    #if os(Linux) && arch(x86_64)
        private static func selectBLASCore(_ name: String) {
            typealias Hook = @convention(c) () -> Void
            guard let quit = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
                let initialize = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init")
            else { return }
            setenv("OPENBLAS_CORETYPE", name, 0)
            unsafeBitCast(quit, to: Hook.self)()
            unsafeBitCast(initialize, to: Hook.self)()
            unsetenv("OPENBLAS_CORETYPE")
        }

        /// Returns whether /proc/cpuinfo lists the AVX-512 subsets that OpenBLAS's SkylakeX kernels use.
        private static func cpuHasAVX512() -> Bool {
            guard let file = fopen("/proc/cpuinfo", "r") else { return false }
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>?
            var capacity = 0
            defer { free(line) }
            while getline(&line, &capacity, file) > 0 {
                let text = String(cString: line!)
                guard text.hasPrefix("flags") else { continue }
                let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
                return ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy {
                    flags.contains($0[...])
                }
            }
            return false
        }
    #endif

    /// Row-major single-precision matrix product `C = alpha · op(A) · op(B) + beta · C` through OpenBLAS.
    ///
    /// `C` is `m × n`. `op(A)` is `m × k`: `A` itself (`m × k`, row stride `lda`) or, when
    /// `transposeA`, the transpose of a `k × m` matrix. `op(B)` is `k × n`: `B` itself (`k × n`) or,
    /// when `transposeB`, the transpose of an `n × k` matrix (use this for `Q · Kᵀ`). Runs on the
    /// calling thread; several threads may call it at once.
    public static func sgemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = blasSetup
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

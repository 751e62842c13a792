internal import CPUID

#if canImport(Glibc)
    import Glibc  // getenv
#else
    import Darwin
#endif

/// The instruction set the kernels run with. The default x86-64 build carries the kernels
/// three times, compiled from the same source files: the module STNKernels for baseline
/// x86-64 (`portable`: multiply then add, nothing x86-specific), STNKernelsAVX2 (-target-cpu
/// haswell) and STNKernelsAVX512 (-target-cpu skylake-avx512). A plan binds the selected
/// ISA's `KernelTable` when it is built. The selection starts as STN_ISA if it names an ISA
/// this processor runs, else the best one; tools call `selectFromEnvironment()` first so that
/// a bad STN_ISA is an error.
public enum ISA: String, CaseIterable, Sendable, CustomStringConvertible {
    case avx512, avx2, portable

    public var description: String { rawValue }

    /// The LLVM CPU this ISA's copy of the kernels is compiled for.
    public var targetCPU: String {
        switch self {
        case .avx512: return "skylake-avx512"
        case .avx2: return "haswell"
        case .portable: return "x86-64"
        }
    }

    /// Every feature LLVM enables for `targetCPU` (the "target-features" of the functions it
    /// compiles), and the OS register state they need. The package turns off pku and invpcid
    /// (-Xcc -mno-pku -Xcc -mno-invpcid): the compiler never emits them for this code and
    /// hypervisors often hide them, so they are not required.
    var requiredFeatures: [CPUFeature] {
        let baseline: [CPUFeature] = [.x87, .cx8, .cmov, .mmx, .fxsr, .sse, .sse2, .cx16]
        let haswell: [CPUFeature] =
            baseline + [
                .sse3, .ssse3, .sse41, .sse42, .crc32, .popcnt, .sahf, .movbe, .pclmul, .rdrnd, .fsgsbase, .xsave,
                .xsaveopt, .avx, .avx2, .fma, .f16c, .bmi, .bmi2, .lzcnt, .osYMMState,
            ]
        switch self {
        case .portable: return baseline
        case .avx2: return haswell
        case .avx512:
            return haswell + [
                .avx512f, .evex512, .avx512dq, .avx512cd, .avx512bw, .avx512vl, .adx, .aes, .clflushopt, .clwb,
                .prfchw, .rdseed, .xsavec, .xsaves, .osZMMState,
            ]
        }
    }

    /// The ISAs whose kernels this binary carries.
    public static var compiled: [ISA] {
        #if STN_DISPATCH
            return [.avx512, .avx2, .portable]
        #elseif STN_AVX512
            return [.avx512]  // a single-ISA build (STN_TARGET_CPU)
        #elseif STN_FMA && arch(x86_64)
            return [.avx2]
        #else
            return [.portable]
        #endif
    }

    /// Why this process cannot run this ISA's kernels (names of what is missing), or nil if it can.
    public var unavailableReason: String? {
        guard ISA.compiled.contains(self) else {
            return "this binary carries only \(ISA.compiled.map(\.rawValue).joined(separator: ", ")) kernels"
        }
        #if arch(x86_64)
            let missing = missingFeatures(in: CPUFeature.registers)
            if missing.isEmpty { return nil }
            return "this processor or OS lacks " + missing.map(\.rawValue).joined(separator: ", ")
        #else
            return self == .portable ? nil : "not an x86-64 processor"
        #endif
    }

    /// The required features `registers` lack.
    func missingFeatures(in registers: stn_cpuid_registers) -> [CPUFeature] {
        requiredFeatures.filter { !$0.isPresent(in: registers) }
    }

    /// The ISAs this process can run, best first.
    public static var available: [ISA] { allCases.filter { $0.unavailableReason == nil } }

    /// The ISA whose kernels a plan binds when it is built.
    public static var active: ISA { selection }

    /// Plans built from now on (in every thread) run `isa`'s kernels.
    public static func select(_ isa: ISA) throws(ISAError) {
        if let reason = isa.unavailableReason { throw ISAError.unavailable(isa, reason: reason) }
        selection = isa
    }

    /// The ISA STN_ISA names, or nil if it is unset or empty.
    public static func fromEnvironment() throws(ISAError) -> ISA? {
        guard let value = getenv("STN_ISA").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        guard let isa = ISA(rawValue: value) else { throw ISAError.unknown(value) }
        return isa
    }

    /// Selects the ISA STN_ISA names (an error if this process cannot run it), else the best
    /// one available; returns it.
    @discardableResult
    public static func selectFromEnvironment() throws(ISAError) -> ISA {
        let isa = try fromEnvironment() ?? available[0]
        try select(isa)
        return isa
    }

    /// Runs `body` with each available ISA selected in turn, best first (the plans it builds
    /// bind that ISA's kernels), then restores the selection; prints one line for each ISA
    /// this binary carries that it skips (tests run their golden cases this way).
    public static func forEachAvailable(_ body: (ISA) throws -> Void) rethrows {
        let previous = selection
        defer { selection = previous }
        for isa in allCases {
            if let reason = isa.unavailableReason {
                print("ISA \(isa) skipped: \(reason)")
                continue
            }
            selection = isa
            try body(isa)
        }
    }
}

/// STN_ISA names no ISA, or one this process cannot run. The description is one line.
public enum ISAError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknown(String)
    case unavailable(ISA, reason: String)

    public var description: String {
        switch self {
        case .unknown(let name):
            return "STN_ISA=\(name): no such ISA (avx512, avx2 or portable)"
        case .unavailable(let isa, let reason):
            let others = ISA.available.map(\.rawValue).joined(separator: ", ")
            return "STN_ISA=\(isa): \(reason) (available here: \(others))"
        }
    }
}

/// Written only by `ISA.select` and `forEachAvailable` (at start-up and in tests), read when
/// a plan is built.
nonisolated(unsafe) var selection = ISA.initial

extension ISA {
    /// STN_ISA if it names an ISA this process can run, else the best available.
    static var initial: ISA {
        if let isa = try? fromEnvironment(), isa.unavailableReason == nil { return isa }
        return available.first ?? .portable
    }
}

internal import CPUID

/// A processor feature by LLVM's name, and where CPUID reports it; the two `os...State`
/// entries are the register states the OS must save on a context switch (XCR0, read with
/// XGETBV), without which the instructions fault even on a processor that has them.
enum CPUFeature: String, CaseIterable, Sendable {
    case x87, cx8, cmov, mmx, fxsr, sse, sse2
    case sse3, pclmul, ssse3, fma, cx16
    case sse41 = "sse4.1"
    case sse42 = "sse4.2"
    case crc32, movbe, popcnt, aes, xsave, avx, f16c, rdrnd
    case fsgsbase, bmi, avx2, bmi2, avx512f, evex512, avx512dq, rdseed, adx, clflushopt, clwb, avx512cd
    case avx512bw, avx512vl
    case sahf, lzcnt, prfchw
    case xsaveopt, xsavec, xsaves
    /// XCR0 bits 1 and 2: the SSE and AVX (YMM) state.
    case osYMMState = "os-ymm-state"
    /// XCR0 bits 1, 2 and 5-7: the above plus the opmask and ZMM state.
    case osZMMState = "os-zmm-state"

    /// Whether `registers` report this feature.
    func isPresent(in registers: stn_cpuid_registers) -> Bool {
        func bit(_ word: UInt32, _ n: Int) -> Bool { word & (1 << UInt32(n)) != 0 }
        switch self {
        case .x87: return bit(registers.leaf1EDX, 0)
        case .cx8: return bit(registers.leaf1EDX, 8)
        case .cmov: return bit(registers.leaf1EDX, 15)
        case .mmx: return bit(registers.leaf1EDX, 23)
        case .fxsr: return bit(registers.leaf1EDX, 24)
        case .sse: return bit(registers.leaf1EDX, 25)
        case .sse2: return bit(registers.leaf1EDX, 26)
        case .sse3: return bit(registers.leaf1ECX, 0)
        case .pclmul: return bit(registers.leaf1ECX, 1)
        case .ssse3: return bit(registers.leaf1ECX, 9)
        case .fma: return bit(registers.leaf1ECX, 12)
        case .cx16: return bit(registers.leaf1ECX, 13)
        case .sse41: return bit(registers.leaf1ECX, 19)
        case .sse42, .crc32: return bit(registers.leaf1ECX, 20)
        case .movbe: return bit(registers.leaf1ECX, 22)
        case .popcnt: return bit(registers.leaf1ECX, 23)
        case .aes: return bit(registers.leaf1ECX, 25)
        case .xsave: return bit(registers.leaf1ECX, 26)
        case .avx: return bit(registers.leaf1ECX, 28)
        case .f16c: return bit(registers.leaf1ECX, 29)
        case .rdrnd: return bit(registers.leaf1ECX, 30)
        case .fsgsbase: return bit(registers.leaf7EBX, 0)
        case .bmi: return bit(registers.leaf7EBX, 3)
        case .avx2: return bit(registers.leaf7EBX, 5)
        case .bmi2: return bit(registers.leaf7EBX, 8)
        case .avx512f, .evex512: return bit(registers.leaf7EBX, 16)
        case .avx512dq: return bit(registers.leaf7EBX, 17)
        case .rdseed: return bit(registers.leaf7EBX, 18)
        case .adx: return bit(registers.leaf7EBX, 19)
        case .clflushopt: return bit(registers.leaf7EBX, 23)
        case .clwb: return bit(registers.leaf7EBX, 24)
        case .avx512cd: return bit(registers.leaf7EBX, 28)
        case .avx512bw: return bit(registers.leaf7EBX, 30)
        case .avx512vl: return bit(registers.leaf7EBX, 31)
        case .sahf: return bit(registers.extendedLeaf1ECX, 0)
        case .lzcnt: return bit(registers.extendedLeaf1ECX, 5)
        case .prfchw: return bit(registers.extendedLeaf1ECX, 8)
        case .xsaveopt: return bit(registers.leaf13EAX, 0)
        case .xsavec: return bit(registers.leaf13EAX, 1)
        case .xsaves: return bit(registers.leaf13EAX, 3)
        case .osYMMState: return registers.xcr0 & 0x6 == 0x6
        case .osZMMState: return registers.xcr0 & 0xE6 == 0xE6
        }
    }

    /// The processor this process runs on, read once.
    static let registers: stn_cpuid_registers = {
        var registers = stn_cpuid_registers()
        stn_read_cpuid(&registers)
        return registers
    }()
}

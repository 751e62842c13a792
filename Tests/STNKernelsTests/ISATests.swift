import CPUID
import STNKernelInterface
import XCTest

@testable import STNKernelSelection

/// The choice of the kernels' instruction set: the feature checks on given registers, the
/// errors, and that each ISA's kernel table runs that ISA's compiled copy of the kernels.
final class ISATests: XCTestCase {
    /// Registers with every feature the AVX-512 copy needs, and XCR0 as `xcr0`.
    func registers(xcr0: UInt64) -> stn_cpuid_registers {
        var r = stn_cpuid_registers()
        r.leaf1EDX = 1 << 0 | 1 << 8 | 1 << 15 | 1 << 23 | 1 << 24 | 1 << 25 | 1 << 26
        r.leaf1ECX = [0, 1, 9, 12, 13, 19, 20, 22, 23, 25, 26, 27, 28, 29, 30].reduce(0) { $0 | 1 << UInt32($1) }
        r.leaf7EBX = [0, 3, 5, 8, 16, 17, 18, 19, 23, 24, 28, 30, 31].reduce(0) { $0 | 1 << UInt32($1) }
        r.extendedLeaf1ECX = 1 << 0 | 1 << 5 | 1 << 8
        r.leaf13EAX = 1 << 0 | 1 << 1 | 1 << 3
        r.xcr0 = xcr0
        return r
    }

    func testEveryRequiredFeatureIsCheckedAgainstItsRegisterBit() {
        let full = registers(xcr0: 0xE7)
        for isa in ISA.allCases {
            XCTAssertEqual(isa.missingFeatures(in: full), [], "\(isa)")
            XCTAssertEqual(
                Set(isa.missingFeatures(in: stn_cpuid_registers())), Set(isa.requiredFeatures),
                "\(isa): with no bits set, every required feature is missing")
        }
        // Clearing any one CPUID bit that AVX-512 needs (avx512bw, bit 30 of leaf 7 EBX) costs
        // exactly that feature; AVX2 does not need it.
        var noBW = full
        noBW.leaf7EBX &= ~(1 << 30)
        XCTAssertEqual(ISA.avx512.missingFeatures(in: noBW), [.avx512bw])
        XCTAssertEqual(ISA.avx2.missingFeatures(in: noBW), [])
        var noFMA = full
        noFMA.leaf1ECX &= ~(1 << 12)
        XCTAssertEqual(ISA.avx2.missingFeatures(in: noFMA), [.fma])
        XCTAssertEqual(ISA.portable.missingFeatures(in: noFMA), [])
    }

    func testTheOSMustSaveTheWideRegisters() {
        // The processor has AVX-512 but the OS saves only SSE and AVX state (XCR0 = 0b111):
        // AVX-512 instructions would fault, AVX2 ones run.
        XCTAssertEqual(ISA.avx512.missingFeatures(in: registers(xcr0: 0x7)), [.osZMMState])
        XCTAssertEqual(ISA.avx2.missingFeatures(in: registers(xcr0: 0x7)), [])
        // Only SSE state: neither.
        XCTAssertEqual(ISA.avx2.missingFeatures(in: registers(xcr0: 0x3)), [.osYMMState])
        XCTAssertEqual(Set(ISA.avx512.missingFeatures(in: registers(xcr0: 0x3))), [.osYMMState, .osZMMState])
    }

    func testPortableIsAlwaysAvailableAndTheDefaultIsTheBest() throws {
        XCTAssertTrue(ISA.available.contains(.portable))
        // The best available, unless STN_ISA names one (the suite also runs under STN_ISA=avx2 and portable).
        XCTAssertEqual(ISA.initial, try ISA.fromEnvironment() ?? ISA.available[0])
        print("ISA available here: \(ISA.available); compiled: \(ISA.compiled)")
        for isa in ISA.allCases where !ISA.available.contains(isa) {
            print("ISA \(isa) unavailable: \(isa.unavailableReason ?? "")")
        }
    }

    func testErrorsAreOneLineNamingTheProblem() {
        XCTAssertEqual(
            ISAError.unknown("sse4").description, "STN_ISA=sse4: no such ISA (avx512, avx2 or portable)")
        let unavailable = ISAError.unavailable(.avx512, reason: "this processor or OS lacks avx512f").description
        XCTAssertTrue(unavailable.hasPrefix("STN_ISA=avx512: this processor or OS lacks avx512f (available here: "))
        XCTAssertFalse(unavailable.contains("\n"))
        for isa in ISA.allCases where !ISA.available.contains(isa) {
            XCTAssertThrowsError(try ISA.select(isa)) { error in
                XCTAssertEqual(error as? ISAError, .unavailable(isa, reason: isa.unavailableReason!))
            }
        }
    }

    func testForEachAvailableVisitsEachOnceAndRestoresTheSelection() throws {
        let before = ISA.active
        var visited: [ISA] = []
        ISA.forEachAvailable { isa in
            XCTAssertEqual(ISA.active, isa)
            visited.append(isa)
        }
        XCTAssertEqual(visited, ISA.available)
        XCTAssertEqual(ISA.active, before)
    }

    /// The copies differ in one observable way: the FMA ones round each multiply-add once,
    /// the portable one twice (multiply, then add). A GEMM whose inputs make the two
    /// roundings disagree must match, bit for bit, the scalar reference of the table's ISA.
    func testEachISAsTableRunsThatCopyOfTheKernels() throws {
        let (m, n, k) = (7, 40, 29)  // a partial 6-row block; 40 columns: the AVX-512 6x40 block
        var state: UInt64 = 7
        func random() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 20)
        }
        let a = (0 ..< m * k).map { _ in random() }
        let b = (0 ..< k * n).map { _ in random() }
        func reference(fused: Bool) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            for i in 0 ..< m {
                for j in 0 ..< n {
                    var sum: Float = 0
                    for t in 0 ..< k {
                        sum = fused ? sum.addingProduct(a[i * k + t], b[t * n + j]) : sum + a[i * k + t] * b[t * n + j]
                    }
                    c[i * n + j] = sum
                }
            }
            return c
        }
        let fused = reference(fused: true)
        let unfused = reference(fused: false)
        XCTAssertNotEqual(fused, unfused, "the data must tell the two roundings apart")
        for isa in ISA.available {
            var c = [Float](repeating: 0, count: m * n)
            KernelTable(isa).gemmAccumulate(m, n, a, .linear(step: k), b, .contiguous(k, ldb: n), &c, n, .accumulate)
            XCTAssertEqual(c, isa == .portable ? unfused : fused, "\(isa)")
        }
    }
}

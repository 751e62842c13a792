import AllocationCounter
import STNModel
import XCTest

@testable import STNEngine

/// Version-2 models keep the engine's promise: after warm-up a frame allocates nothing.
final class TensorEngineTests: XCTestCase {
    static let everyOperation = """
        stn-model 2 name=every-op
        input x 2x3x8x8
        constant w - shape=4x3x3x3
        constant bias - shape=4
        conv c x,w,bias stride=2 pads=1,0,1,1 group=1
        constant s - shape=4
        batchnorm n c,s,s,s,s eps=0.001
        maxpool p n kernel=2 stride=1 pads=0,0,1,1 ceil=1 count_include_pad=0
        avgpool q p kernel=3x2 stride=2 pads=1,1,1,1 ceil=0 count_include_pad=1
        global_avgpool g q
        reshape flat g shape=2x4
        constant k - shape=4x5
        gemm h flat,k trans_a=0 trans_b=0 alpha=0.5 beta=0
        transpose t h perm=1,0
        reduce_sum r t axes=0 keepdims=0
        softmax sm h axis=1
        constant m - shape=5
        mul scaled sm,m
        relu rl scaled
        resize big x size=16x12 scales=2.0,1.5 mode=linear coordinates=pytorch_half_pixel nearest=floor
        constant theta - shape=2x2x3
        affine_grid grid theta size=2x3x5x6 align_corners=1
        grid_sample out big,grid mode=nearest padding=border align_corners=0
        global_avgpool pooled out
        reshape answer pooled shape=6

        """

    func testAFrameAllocatesNothing() throws {
        guard stn_allocations_count() != UInt64.max else { throw XCTSkip("allocation counting needs glibc") }
        let architecture = try Architecture(parsing: Self.everyOperation)
        var weights = ModelWeights.zeros(architecture)
        for spec in architecture.parameters {
            try weights.set(spec.name, (0 ..< spec.count).map { Float(($0 * 7) % 5) * 0.25 + 0.5 })
        }
        let engine = try Engine(weights: weights, threads: 1)
        let input: [Float] = (0 ..< engine.frameCount).map { Float(($0 * 13) % 17) / 17 }
        var checksum: Float = 0
        input.withUnsafeBufferPointer { frame in
            for _ in 0 ..< 10 { checksum += engine.infer(tensor: frame.baseAddress!)[0] }
            stn_allocations_reset()
            for _ in 0 ..< 1000 { checksum += engine.infer(tensor: frame.baseAddress!)[0] }
        }
        let count = stn_allocations_count()
        XCTAssertEqual(count, 0, "\(count) heap allocations in 1,000 version-2 frames")
        XCTAssertTrue(checksum.isFinite)
        XCTAssertGreaterThan(engine.stepNames.count, 15)
    }
}

import STNData
import STNKernelInterface
import STNKernelSelection
import STNModel
import XCTest

@testable import STNPlan
@testable import STNTrainer

/// One model that uses every trainable layer kind, its parameter gradients checked against
/// central finite differences of the loss: Float32 forward passes with the loss summed in
/// Double, eps 1e-4 (1e-3 for the models of small gradients), up to 8 entries of every
/// parameter tensor.
///
/// The stated Float32 tolerance: an entry agrees when |ours - fd| <= 2 % of the tensor's
/// largest |fd| plus 3e-4 (the noise of a Float32 loss difference at this eps), and a
/// tensor passes when at least 75 % of its entries agree. The rest is left for kinks: a
/// ReLU, a maximum or a pixel boundary switching within +-eps makes a central difference
/// wrong by itself. A layer whose backward is missing leaves
/// every tensor upstream of it near 0 % (the second test proves it for every layer).
final class EveryLayerGradientTests: XCTestCase {
    /// Convolution (padding, stride, non-square kernel), normalisation, fused and general max
    /// pooling, average pooling, ReLU, flatten, linear, a transformer on a feature map that
    /// the localisation net also reads (bilinear, border, align_corners), resize, dropout and
    /// dropout2d (active, with fixed masks), log-softmax.
    static let everyLayer = """
        stn-model 1 name=every-layer
        input image 2x10x12
        conv c0 image out=5 kernel=3 padding=1
        normalize n0 c0 mean=0.1,-0.1,0,0.2,0 std=0.5,2,1,1.5,1
        maxpool p0 n0 kernel=2
        relu a0 p0
        avgpool q0 a0 kernel=2 stride=1
        flatten lf q0
        linear theta lf out=6
        affine_grid grid theta size=6x7 align_corners=1
        grid_sample s a0,grid mode=bilinear padding=border align_corners=1
        resize r s size=5x5
        conv c1 r out=7 kernel=2x3 stride=2x1
        maxpool p1 c1 kernel=2 stride=1
        dropout2d d0 p1 p=0.3
        relu a1 d0
        flatten f a1
        linear h f out=9
        dropout d1 h p=0.25
        relu a2 d1
        linear o a2 out=4
        log_softmax out o
        """

    /// The other sampler options and a softmax answer.
    static let otherSampler = """
        stn-model 1 name=other-sampler
        input image 1x8x9
        conv c0 image out=3 kernel=3 padding=1
        flatten f0 c0
        linear theta f0 out=6
        affine_grid grid theta size=5x6
        grid_sample s c0,grid mode=bilinear padding=zeros
        grid_sample t s,grid mode=nearest padding=zeros
        flatten f1 t
        linear o f1 out=5
        softmax out o
        """

    /// The attention, projective and thin-plate-spline generators, chained.
    static let otherTransforms = """
        stn-model 1 name=other-transforms
        input image 1x8x9
        conv c0 image out=3 kernel=3 padding=1
        flatten f0 c0
        linear ta f0 out=3
        attention_grid ga ta size=6x7
        grid_sample sa c0,ga
        linear tp f0 out=8
        projective_grid gp tp size=6x7 align_corners=1
        grid_sample sp sa,gp
        linear tt f0 out=32
        tps_grid gt tt size=5x6
        grid_sample st sp,gt padding=border
        flatten f1 st
        linear o f1 out=5
        log_softmax out o
        """

    /// The operations users' models add, on maps: a dilated depthwise convolution,
    /// per-channel PReLU, a residual add, padded ceil-mode max pooling, padded average
    /// pooling, and global average pooling in a second head added to the first.
    static let newMapOperations = """
        stn-model 1 name=new-map-operations
        input image 3x9x10
        conv c0 image out=8 kernel=3 padding=1
        elu e0 c0 alpha=0.7
        conv dw e0 out=8 kernel=3 padding=2 dilation=2 groups=8
        prelu pr dw per_channel=1
        add res pr,e0
        maxpool mp res kernel=3 stride=2 padding=1 ceil=1
        avgpool ap mp kernel=3 stride=1 padding=1 count_include_pad=0
        leaky_relu lr ap slope=0.2
        flatten lf lr
        linear theta lf out=6
        affine_grid grid theta size=4x5
        grid_sample smp lr,grid
        flatten f smp
        linear o1 f out=4
        conv lc lr out=8 kernel=1
        global_avgpool ga lc
        linear o2 ga out=4
        add o o1,o2
        log_softmax out o
        """

    /// The activations, on maps and vectors (the saturating ones side by side, so that each
    /// carries its share of the gradient), shared PReLU and global max pooling.
    static let newActivations = """
        stn-model 1 name=new-activations
        input image 2x6x7
        conv c0 image out=8 kernel=3 padding=1
        prelu p0 c0
        tanh th p0
        silu si th
        global_maxpool gm si
        linear h gm out=9
        hardswish hw h
        gelu ge hw
        linear h2 ge out=9
        sigmoid sg h2
        hardsigmoid hs h2 alpha=0.3 beta=0.5
        clip cl h2 min=-0.6 max=0.9
        add a1 sg,hs
        add a2 a1,cl
        linear o a2 out=4
        log_softmax out o
        """

    /// Batch norms in training (the batch's statistics), on maps and on a vector. The
    /// layers before a batch norm have no bias and a layer mixing channels follows each:
    /// otherwise the next batch norm cancels a parameter's effect, a true gradient of zero
    /// that finite differences only see as noise.
    static let batchNorms = """
        stn-model 1 name=batch-norms
        input image 2x6x7
        conv c0 image out=8 kernel=3 padding=1 bias=0
        batchnorm b0 c0
        relu r0 b0
        conv c1 r0 out=8 kernel=1 bias=0
        batchnorm b1 c1
        relu r1 b1
        conv c2 r1 out=8 kernel=3 bias=0
        global_avgpool g c2
        linear h g out=6 bias=0
        batchnorm b2 h
        relu r2 b2
        linear o r2 out=4
        log_softmax out o
        """

    /// The vector operations theta is built with (cos, sin, arithmetic with constants, a
    /// selection), a grid computed by a constant matrix from points (as a TPS rectifier's).
    static let vectorOperations = """
        stn-model 1 name=vector-operations
        input image 1x8x9
        conv c0 image out=4 kernel=3 padding=1
        flatten f0 c0
        linear a f0 out=2
        mul_add angle a
        cos ca angle
        sin sa angle
        constant zero - count=1
        mul_add na sa
        select theta ca,na,zero elements=0:0,1:0,2:0,1:1,0:1,2:0
        affine_grid grid theta size=5x6
        grid_sample s c0,grid
        flatten f1 s
        linear o1 f1 out=5
        linear pts f0 out=8
        matmul g pts rows=30 inner=4
        grid tg g size=5x6
        grid_sample t c0,tg
        flatten f2 t
        linear o2 f2 out=5
        add o o1,o2
        log_softmax out o
        """

    /// Channels of maps selected and concatenated (`select ... channels=`, as the MNIST
    /// addition models split and join their channels): a permutation of one padded map's
    /// channels, three maps joined out of order (two of them also read by another layer, so
    /// their gradients add up), one channel of a one-channel padded map (8 lanes a pixel to
    /// 1), and a rotation of an unpadded map's channels after the sampler. Each selection is
    /// the only path to some convolution, so zeroing its backward shows.
    static let channelSelections = """
        stn-model 1 name=channel-selections
        input image 2x8x9
        conv a image out=3 kernel=3 padding=1
        select ap a channels=0:2,0:0-1
        conv b image out=2 kernel=3 padding=1
        conv e image out=2 kernel=3 padding=1
        select cat ap,b,e channels=1:1,0:0-2,2:1,1:0,2:0
        conv d image out=1 kernel=3 padding=1
        select one d channels=0:0
        flatten lf one
        linear theta lf out=6
        affine_grid grid theta size=6x7
        grid_sample s cat,grid
        select pick s channels=0:6,0:0-5
        conv c pick out=4 kernel=3
        flatten f c
        linear o1 f out=4
        add be b,e
        global_avgpool gb be
        linear o2 gb out=4
        add o o1,o2
        log_softmax out o
        """

    struct Check {
        let network: Network
        let images: [Float]
        let labels: [UInt8]
        /// The finite-difference step: 1e-3 for the models whose gradients are mostly below
        /// 1e-3, where a Float32 loss difference at 1e-4 is noise of that size (not where a
        /// computed grid crosses pixels within 1e-3).
        var epsilon: Float = 1e-4
        /// A second step at which an entry may agree instead.
        var alternateEpsilon: Float?
    }

    static func setUp(_ text: String) throws -> Check {
        let architecture = try Architecture(parsing: text)
        let network = try Network(architecture: architecture, maxBatch: 4, threads: 1)
        var weights = Initializer.pytorchDefault(architecture, seed: 5)
        var random = PRNG(seed: 11)
        // Not the identity transform: the sampler's gradient must reach theta.
        for (layer, identity) in architecture.thetaIdentities.sorted(by: { $0.key < $1.key }) {
            let count = weights[layer + ".weight"].count
            try weights.set(layer + ".weight", (0 ..< count).map { _ in (random.nextUnitFloat() - 0.5) * 0.3 })
            try weights.set(layer + ".bias", identity.map { $0 + (random.nextUnitFloat() - 0.5) * 0.2 })
        }
        // Fixed values (constants, a grid's matrix) at random, so that every path carries a gradient.
        for spec in architecture.parameters where spec.role == .buffer {
            try weights.set(spec.name, (0 ..< spec.count).map { _ in (random.nextUnitFloat() - 0.5) * 0.8 })
        }
        network.load(weights)
        let images = (0 ..< 4 * architecture.inputShape.count).map { _ in random.nextUnitFloat() }
        let labels = (0 ..< 4).map { UInt8($0 % architecture.classCount) }
        let fine = [everyLayer, otherSampler, otherTransforms].contains(text)
        var check = Check(network: network, images: images, labels: labels, epsilon: fine ? 1e-4 : 1e-3)
        // Small gradients (noise at 1e-4) and grids the model computes (which cross pixels
        // within 1e-3): an entry agrees at either step.
        if text == vectorOperations || text == channelSelections { check.alternateEpsilon = 1e-4 }
        return check
    }

    /// The smallest fraction of agreeing entries over the parameter tensors, and which tensor.
    static func worstAgreement(_ c: Check) -> (Double, String) {
        let network = c.network
        _ = network.forwardBackward(images: c.images, labels: c.labels, count: 4, dropoutSeed: 7)
        let analytic = network.gradients
        let saved = network.parameters
        var worst = (1.0, "")
        // Fixed values are never trained: they have no gradient to check.
        for name in network.layout.names where network.architecture.parameter(name)?.role != .buffer {
            let range = network.layout.range(of: name)!
            let count = min(8, range.count)
            let picks = Set((0 ..< count).map { range.lowerBound + $0 * range.count / count }).sorted()
            var numeric: [Double] = []
            var alternate: [Double] = []
            for index in picks {
                if let eps = c.alternateEpsilon {
                    network.parameters[index] = saved[index] + eps
                    let up = network.forwardBackward(images: c.images, labels: c.labels, count: 4, dropoutSeed: 7).loss
                    network.parameters[index] = saved[index] - eps
                    let down = network.forwardBackward(images: c.images, labels: c.labels, count: 4, dropoutSeed: 7)
                        .loss
                    network.parameters[index] = saved[index]
                    alternate.append((up - down) / (2 * Double(eps)))
                }
                let eps = c.epsilon
                network.parameters[index] = saved[index] + eps
                let up = network.forwardBackward(images: c.images, labels: c.labels, count: 4, dropoutSeed: 7).loss
                network.parameters[index] = saved[index] - eps
                let down = network.forwardBackward(images: c.images, labels: c.labels, count: 4, dropoutSeed: 7).loss
                network.parameters[index] = saved[index]
                numeric.append((up - down) / (2 * Double(eps)))
            }
            let scale = numeric.map(abs).max() ?? 0
            let agreeing = picks.indices.filter { k in
                let ours = Double(analytic[picks[k]])
                return abs(ours - numeric[k]) <= 0.02 * scale + 3e-4
                    || (!alternate.isEmpty && abs(ours - alternate[k]) <= 0.02 * scale + 3e-4)
            }
            let fraction = Double(agreeing.count) / Double(picks.count)
            if fraction < worst.0 { worst = (fraction, name) }
        }
        return worst
    }

    func testEveryLayerKindMatchesFiniteDifferences() throws {
        try ISA.forEachAvailable { isa in
            for text in [
                Self.everyLayer, Self.otherSampler, Self.otherTransforms, Self.newMapOperations, Self.newActivations,
                Self.batchNorms, Self.vectorOperations, Self.channelSelections,
            ] {
                let check = try Self.setUp(text)
                let (fraction, name) = Self.worstAgreement(check)
                let model = check.network.architecture.name
                print("\(model) [\(isa)]: least agreeing tensor \(name), \(fraction * 100) % of entries")
                XCTAssertGreaterThanOrEqual(fraction, 0.75, "\(model) \(name) [\(isa)]")
            }
        }
    }

    /// The check above would catch any one layer's backward pass missing: with each step's
    /// backward replaced by zeros in turn, some parameter's gradient is off by far more.
    func testZeroingAnyLayersBackwardFailsTheCheck() throws {
        for text in [
            Self.everyLayer, Self.otherSampler, Self.otherTransforms, Self.newMapOperations, Self.newActivations,
            Self.batchNorms, Self.vectorOperations, Self.channelSelections,
        ] {
            let check = try Self.setUp(text)
            let plan = check.network.plan
            // The final softmax belongs to the loss; a constant reads nothing.
            for (name, reads) in zip(plan.stepNames, plan.stepInputCounts).dropLast() where reads > 0 {
                plan.zeroedBackward = [name]
                let (fraction, tensor) = Self.worstAgreement(check)
                XCTAssertLessThan(fraction, 0.5, "zeroing \(name)'s backward went unnoticed (\(tensor) \(fraction))")
            }
            plan.zeroedBackward = []
        }
    }
}

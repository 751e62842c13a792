/// Random geometric jitter for training images of any size and channel count (`stn-train
/// --augment`): a rotation, a scale and a shift about the image's centre, a projective warp
/// of its corners and an elastic displacement field, each up to a chosen amount, drawn
/// afresh for every image every epoch.
///
/// It is built from the distortions' own parts: the rotation and scale are RTS's
/// (torchvision's inverse affine matrix, about the image's centre; a positive angle turns
/// the image clockwise on screen, y pointing down, as R's 90 degrees do), the corner jitter is P's (a homography through
/// four moved corners, redrawn until convex), the displacement field is E's (smoothed
/// uniform noise, Simard et al.), and every output pixel is one bilinear sample (zero
/// fill) at the point those maps send its centre to, for each channel.
///
/// Image `index` of epoch `epoch` draws from its own PRNG stream, keyed by (seed, epoch,
/// index) as the distortions are: results do not depend on the order images are done in
/// or on the thread count.
public struct Augmentation: Sendable, Equatable, CustomStringConvertible {
    /// Largest rotation either way, in degrees (uniform in [-r, r]).
    public var rotationDegrees: Double = 0
    /// Scales drawn uniformly from this range (1 ... 1: none).
    public var scaleRange: ClosedRange<Double> = 1 ... 1
    /// Largest shift either way, as a fraction of the width (x) and height (y).
    public var shiftFraction: Double = 0
    /// Standard deviation of each corner's offset, as a fraction of the width (x) and
    /// height (y); P-MNIST's 5 pixels on 28 are about 0.18.
    public var projective: Double = 0
    /// Scale of the elastic displacement field in pixels (Simard's alpha; E-MNIST uses 34).
    public var elasticAlpha: Double = 0
    /// Smoothness of the elastic field: the Gaussian's standard deviation in pixels.
    public var elasticSigma: Double = ElasticDistortion.defaultSigma {
        didSet { kernel = ElasticDistortion.gaussianKernel(sigma: elasticSigma) }
    }
    /// The elastic field's smoothing weights (from `elasticSigma`).
    public private(set) var kernel = ElasticDistortion.gaussianKernel(sigma: ElasticDistortion.defaultSigma)

    /// Folded into the seed: the jitter draws independently of the distortions.
    static let salt: UInt64 = 0x6175_676D_656E_7421  // "augment!"
    /// Corner draws tried before the corners are left where the affine part puts them.
    static let maximumDraws = 100

    public init() {}

    /// The keys of the text form, in its order.
    public static let keys = ["rotate", "scale", "shift", "projective", "elastic", "sigma"]

    /// Reads the command-line form, keys in any order, each at most once:
    /// `rotate=DEG,scale=LOW-HIGH,shift=FRACTION,projective=FRACTION,elastic=ALPHA,sigma=PIXELS`
    /// (a single scale value is a fixed scale). Throws one line naming what is wrong.
    public init(parsing text: String) throws {
        var seen: Set<String> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw AugmentationError("'\(item)' is not KEY=VALUE (keys: \(Self.keys.joined(separator: ", ")))")
            }
            let key = String(parts[0])
            let value = String(parts[1])
            guard Self.keys.contains(key) else {
                throw AugmentationError("unknown key '\(key)' (keys: \(Self.keys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw AugmentationError("'\(key)' is given twice") }
            func number(_ text: String, in range: ClosedRange<Double>, open lower: Bool = false) throws -> Double {
                guard let v = Double(text), v.isFinite, range.contains(v), !(lower && v == range.lowerBound) else {
                    let bound = lower ? "above \(Self.text(range.lowerBound))" : "from \(Self.text(range.lowerBound))"
                    throw AugmentationError(
                        "\(key) must be a number \(bound) to \(Self.text(range.upperBound)), not '\(text)'")
                }
                return v
            }
            switch key {
            case "rotate": rotationDegrees = try number(value, in: 0 ... 180)
            case "scale":
                // "0.9-1.1", or one value for a fixed scale.
                let bounds = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(
                    String.init)
                let low = try number(bounds[0], in: 0 ... 10, open: true)
                let high = bounds.count == 2 ? try number(bounds[1], in: 0 ... 10, open: true) : low
                guard low <= high else { throw AugmentationError("scale=\(value): the low end is above the high end") }
                scaleRange = low ... high
            case "shift": shiftFraction = try number(value, in: 0 ... 1)
            case "projective": projective = try number(value, in: 0 ... 0.5)
            case "elastic": elasticAlpha = try number(value, in: 0 ... 1000)
            default: elasticSigma = try number(value, in: 0 ... 64, open: true)
            }
        }
        // Observers do not run in an initialiser.
        kernel = ElasticDistortion.gaussianKernel(sigma: elasticSigma)
    }

    /// The text form, every key (what a checkpoint records; `init(parsing:)` reads it back).
    public var description: String {
        let scale =
            scaleRange.lowerBound == scaleRange.upperBound
            ? Self.text(scaleRange.lowerBound)
            : "\(Self.text(scaleRange.lowerBound))-\(Self.text(scaleRange.upperBound))"
        return "rotate=\(Self.text(rotationDegrees)),scale=\(scale),shift=\(Self.text(shiftFraction)),"
            + "projective=\(Self.text(projective)),elastic=\(Self.text(elasticAlpha)),sigma=\(Self.text(elasticSigma))"
    }

    /// A number as written: 15 rather than 15.0; otherwise Swift's shortest round-trip form.
    static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// Whether every amount is zero: the output is the input.
    public var isIdentity: Bool {
        rotationDegrees == 0 && scaleRange == 1 ... 1 && shiftFraction == 0 && projective == 0 && elasticAlpha == 0
    }

    /// Doubles of scratch one image of this size needs (the elastic field and its smoothing).
    public func workspaceCount(width: Int, height: Int) -> Int {
        guard elasticAlpha > 0 else { return 0 }
        return ElasticDistortion.smoothingCount(width: width, height: height, radius: kernel.count / 2)
            + 2 * width * height
    }

    /// The map from output points to the input points they show, for one image's draws: the
    /// rotation, scale and shift (one affine map), then, with `projective` above zero, the
    /// homography through that map's corners moved at random. Draws, in order: the angle, the
    /// scale, the x and y shift (one uniform each), then eight normals per corner try.
    func map(_ random: inout PRNG, width: Int, height: Int) -> Homography {
        let w = Double(width)
        let h = Double(height)
        let angle = rotationDegrees * (2 * random.nextUnitDouble() - 1)
        let scale = scaleRange.lowerBound + (scaleRange.upperBound - scaleRange.lowerBound) * random.nextUnitDouble()
        let shiftX = shiftFraction * w * (2 * random.nextUnitDouble() - 1)
        let shiftY = shiftFraction * h * (2 * random.nextUnitDouble() - 1)
        let affine = Self.affine(
            angleDegrees: angle, scale: scale, shiftX: shiftX, shiftY: shiftY, width: width, height: height)
        guard projective > 0 else { return affine }
        let square: SIMD8<Double> = [0, 0, w, 0, w, h, 0, h]
        var base = SIMD8<Double>()
        for i in 0 ..< 4 {
            let p = affine.apply(x: square[2 * i], y: square[2 * i + 1])
            base[2 * i] = p.x
            base[2 * i + 1] = p.y
        }
        guard let moved = jitter(base, &random, width: w, height: h),
            let projective = Homography.mapping(square, to: moved)
        else { return affine }
        return projective
    }

    /// The affine part of one image's jitter: output point p samples the input at
    /// A(p - shift), A the inverse of the rotation by `angleDegrees` (clockwise on screen) and scale about the image's centre.
    public static func affine(
        angleDegrees: Double, scale: Double, shiftX: Double, shiftY: Double, width: Int, height: Int
    ) -> Homography {
        var m = RTSDistortion.inverseMatrix(
            angleDegrees: angleDegrees, scale: scale, centre: SIMD2(Double(width) / 2, Double(height) / 2))
        m[2] -= m[0] * shiftX + m[1] * shiftY
        m[5] -= m[3] * shiftX + m[4] * shiftY
        return Homography(coefficients: [m[0], m[1], m[2], m[3], m[4], m[5], 0, 0])
    }

    /// `base` with each corner moved by normal offsets (P's draw, scaled to the image),
    /// redrawn until the quadrilateral is convex; nil after `maximumDraws` tries.
    private func jitter(_ base: SIMD8<Double>, _ random: inout PRNG, width: Double, height: Double) -> SIMD8<Double>? {
        for _ in 0 ..< Self.maximumDraws {
            var corners = base
            for i in 0 ..< 4 {
                corners[2 * i] += projective * width * random.nextGaussian()
                corners[2 * i + 1] += projective * height * random.nextGaussian()
            }
            if ProjectiveDistortion.isConvex(corners) { return corners }
        }
        return nil
    }

    /// Jitters image `index` of epoch `epoch`: every pixel of every channel of `target` is
    /// written (`source` and `target` must not overlap). Channels are interleaved (H x W x C,
    /// as the trainer feeds the model) or planes (C x H x W). `workspace` holds at least
    /// `workspaceCount(width:height:)` Doubles; nothing is allocated.
    public func apply<Pixel: ResamplingPixel>(
        _ source: UnsafePointer<Pixel>, into target: UnsafeMutablePointer<Pixel>, width: Int, height: Int,
        channels: Int, interleaved: Bool, seed: UInt64, index: Int, epoch: Int, workspace: DistortionWorkspace
    ) {
        var random = PRNG.image(seed: seed, salt: Self.salt, index: index, epoch: epoch)
        let homography = map(&random, width: width, height: height)
        var dx: UnsafeMutablePointer<Double>?
        var dy: UnsafeMutablePointer<Double>?
        if elasticAlpha > 0 {
            precondition(workspace.count >= workspaceCount(width: width, height: height), "the workspace is too small")
            let smoothing = ElasticDistortion.smoothingCount(width: width, height: height, radius: kernel.count / 2)
            let fieldX = workspace.doubles + smoothing
            let fieldY = fieldX + width * height
            kernel.withUnsafeBufferPointer { kernel in
                ElasticDistortion.smoothField(
                    &random, kernel: kernel, alpha: elasticAlpha, width: width, height: height, into: fieldX,
                    scratch: workspace.doubles)
                ElasticDistortion.smoothField(
                    &random, kernel: kernel, alpha: elasticAlpha, width: width, height: height, into: fieldY,
                    scratch: workspace.doubles)
            }
            (dx, dy) = (fieldX, fieldY)
        }
        let pixelStride = interleaved ? channels : 1
        let channelStride = interleaved ? 1 : width * height
        let m = homography.coefficients
        for y in 0 ..< height {
            for x in 0 ..< width {
                let i = y * width + x
                var px = Double(x) + 0.5
                var py = Double(y) + 0.5
                if let dx, let dy {
                    px += dx[i]
                    py += dy[i]
                }
                let w = m[6] * px + m[7] * py + 1
                // Beyond the horizon (a folded warp only): nothing of the image.
                let tap = BilinearTap(
                    x: w > 0 ? (m[0] * px + m[1] * py + m[2]) / w : .nan, y: (m[3] * px + m[4] * py + m[5]) / w,
                    width: width, height: height)
                for c in 0 ..< channels {
                    target[i * pixelStride + c * channelStride] = Pixel(
                        sample: tap.sample(source + c * channelStride, pixelStride: pixelStride))
                }
            }
        }
    }

    /// `apply` on `image` in place, through `copy` (at least width x height x channels pixels).
    public func apply<Pixel: ResamplingPixel>(
        inPlace image: UnsafeMutablePointer<Pixel>, copy: UnsafeMutablePointer<Pixel>, width: Int, height: Int,
        channels: Int, interleaved: Bool, seed: UInt64, index: Int, epoch: Int, workspace: DistortionWorkspace
    ) {
        copy.update(from: image, count: width * height * channels)
        apply(
            copy, into: image, width: width, height: height, channels: channels, interleaved: interleaved, seed: seed,
            index: index, epoch: epoch, workspace: workspace)
    }
}

/// A malformed `--augment` text, as one line.
public struct AugmentationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

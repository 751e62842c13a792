import STNSystem

/// One image of the addition task: which digit of the split goes in the second channel, and
/// each channel's own RTS distortion.
public struct AdditionParameters: Sendable, Equatable {
    /// Index in the split of the second channel's digit (never the first channel's).
    public var partner: Int
    public var first: RTSParameters
    public var second: RTSParameters
}

/// The MNIST addition task of Jaderberg et al. (2015), appendix A.1: "Each digit is
/// presented in a separate 42 x 42 input channel (giving 2-channel inputs), but each digit is
/// transformed independently, with random rotation, scale, and translation (RTS)"; the
/// label is the sum of the two digits, one of 19 classes (0 to 18).
///
/// Image i holds digit i of the split (i modulo its size, for more images than digits) in
/// channel 0 and a random other digit in channel 1, each distorted as `RTSDistortion`
/// distorts one digit, with parameters drawn independently: channel 0's, channel 1's and the
/// partner's choice come from three PRNG streams keyed by (seed, epoch, index). So the same
/// seed gives byte-identical images on any machine and with any thread count. Pixels are
/// stored channels last: N x 42 x 42 x 2.
public struct MNISTAddition: Sendable {
    public static let canvasSize = RTSDistortion.canvasSize
    public static let channels = 2
    /// Sums 0 to 18.
    public static let classCount = 19

    static let firstSalt: UInt64 = 0x6164_6431_7374_2020  // "add1st  "
    static let secondSalt: UInt64 = 0x6164_6432_6E64_2020  // "add2nd  "
    static let partnerSalt: UInt64 = 0x6164_6470_6169_7220  // "addpair "

    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The draws of image `index` in epoch `epoch`, over a split of `digitCount` digits (at
    /// least 2: the partner is another digit).
    public func parameters(index: Int, epoch: Int = 0, digitCount: Int) -> AdditionParameters {
        precondition(digitCount >= 2, "the addition task needs at least two digits")
        var random = PRNG.image(seed: seed, salt: Self.partnerSalt, index: index, epoch: epoch)
        let own = index % digitCount
        // Uniform over the other digitCount - 1 digits.
        var partner = random.nextInt(below: digitCount - 1)
        if partner >= own { partner += 1 }
        return AdditionParameters(
            partner: partner,
            first: RTSDistortion(seed: seed ^ Self.firstSalt).parameters(index: index, epoch: epoch),
            second: RTSDistortion(seed: seed ^ Self.secondSalt).parameters(index: index, epoch: epoch))
    }

    /// `count` two-channel images (default: one per digit of `split`) and their sums.
    /// The result is the same for any thread count.
    public func compose(_ split: MNISTSplit, count: Int? = nil, epoch: Int = 0, threads: Int = 1) -> (
        images: IDXImages, labels: [UInt8]
    ) {
        let digits = split.images
        let side = RTSDistortion.digitSize
        precondition(digits.rows == side && digits.columns == side, "addition expects 28x28 digits")
        let n = digits.count
        let count = count ?? n
        let canvas = Self.canvasSize * Self.canvasSize
        var pixels = [UInt8](repeating: 0, count: count * canvas * Self.channels)
        var labels = [UInt8](repeating: 0, count: count)
        let parts = max(1, min(threads, count))
        digits.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                labels.withUnsafeMutableBufferPointer { sums in
                    let source = source.baseAddress!
                    let target = target.baseAddress!
                    let sums = sums.baseAddress!
                    // Each part writes only its own images and labels, through its own canvases.
                    concurrentParts(parts) { part in
                        let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * canvas)
                        defer { planes.deallocate() }
                        for i in count * part / parts ..< count * (part + 1) / parts {
                            let p = parameters(index: i, epoch: epoch, digitCount: n)
                            let own = i % n
                            RTSDistortion.render(digit: source + own * side * side, p.first, into: planes)
                            RTSDistortion.render(
                                digit: source + p.partner * side * side, p.second, into: planes + canvas)
                            let out = target + i * canvas * Self.channels
                            for k in 0 ..< canvas {
                                out[2 * k] = planes[k]
                                out[2 * k + 1] = planes[canvas + k]
                            }
                            sums[i] = split.labels[own] + split.labels[p.partner]
                        }
                    }
                }
            }
        }
        return (
            IDXImages(
                count: count, rows: Self.canvasSize, columns: Self.canvasSize, channels: Self.channels, pixels: pixels),
            labels
        )
    }
}

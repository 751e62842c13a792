/// An image as a file stores it: `channels` samples per pixel (1 grey, 2 grey + alpha,
/// 3 RGB, 4 RGBA), row after row, each from 0 to `maximum` (255 for 8-bit PNG, 65535 for
/// 16-bit, a PGM's maxval). No gamma or colour-space conversion is applied.
public struct DecodedImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var maximum: Int
    public var samples: [UInt16]

    public init(width: Int, height: Int, channels: Int, maximum: Int, samples: [UInt16]) {
        precondition(samples.count == width * height * channels, "sample count does not match the size")
        precondition((1 ... 65535).contains(maximum), "maximum sample value out of range")
        self.width = width
        self.height = height
        self.channels = channels
        self.maximum = maximum
        self.samples = samples
    }

    /// Whether the last channel is alpha (grey + alpha, RGBA).
    public var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// The samples scaled to 0 ... 255, rounded: v * 255 / maximum.
    public var eightBitSamples: [UInt8] {
        if maximum == 255 { return samples.map { UInt8(truncatingIfNeeded: $0) } }
        let m = UInt32(maximum)
        return samples.map { UInt8((UInt32(min($0, UInt16(maximum))) * 255 + m / 2) / m) }
    }

    /// 8-bit pixels with `target` channels per pixel (see `PixelConversion.convert`), or nil
    /// when the image's colours do not map onto that many channels.
    public func pixels(channels target: Int, background: UInt8 = 0) -> [UInt8]? {
        PixelConversion.convert(
            eightBitSamples, channels: channels, alpha: hasAlpha, to: target, background: background)
    }
}

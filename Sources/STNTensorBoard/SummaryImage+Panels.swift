/// An image as a model sees it: floats in 0 ... 1, channels interleaved (height x width x
/// channels, the model's input) or in planes (channels x height x width, PyTorch's layout).
public struct FloatImage: Sendable {
    public var pixels: [Float]
    public var width: Int
    public var height: Int
    public var channels: Int
    public var interleaved: Bool

    public init(pixels: [Float], width: Int, height: Int, channels: Int, interleaved: Bool) {
        precondition(pixels.count == width * height * channels, "the pixels fill the image")
        self.pixels = pixels
        self.width = width
        self.height = height
        self.channels = channels
        self.interleaved = interleaved
    }

    /// Channel `c` of pixel (x, y) as a byte (clamped; NaN gives 0).
    func byte(x: Int, y: Int, channel c: Int) -> UInt8 {
        let i = interleaved ? (y * width + x) * channels + c : (c * height + y) * width + x
        let v = pixels[i] * 255
        return v.isNaN ? 0 : UInt8(min(255, max(0, v.rounded())))
    }
}

extension SummaryImage {
    /// `images` left to right, top-aligned, `gap` grey pixels apart: RGB if any has three
    /// channels, else grey (an image of another channel count shows its first channel).
    public static func sideBySide(_ images: [FloatImage], gap: Int = 2) -> SummaryImage {
        let colour = images.contains { $0.channels == 3 }
        let depth = colour ? 3 : 1
        let width = max(1, images.reduce(0) { $0 + $1.width } + gap * max(0, images.count - 1))
        let height = max(1, images.map(\.height).max() ?? 1)
        var pixels = [UInt8](repeating: 128, count: width * height * depth)
        var left = 0
        for image in images {
            for y in 0 ..< image.height {
                for x in 0 ..< image.width {
                    for c in 0 ..< depth {
                        pixels[(y * width + left + x) * depth + c] = image.byte(
                            x: x, y: y, channel: image.channels == 3 ? c : 0)
                    }
                }
            }
            // Below a shorter image: black, as the model's zero fill.
            for y in image.height ..< height {
                for x in 0 ..< image.width {
                    for c in 0 ..< depth { pixels[(y * width + left + x) * depth + c] = 0 }
                }
            }
            left += image.width + gap
        }
        return colour
            ? .rgb(width: width, height: height, pixels: pixels) : .gray(width: width, height: height, pixels: pixels)
    }
}

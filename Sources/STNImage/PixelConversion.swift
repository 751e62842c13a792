/// How 8-bit pixels of one colour layout become another, for a model's input channels.
public enum PixelConversion {
    /// Grey from RGB as Pillow's `convert("L")` computes it (ITU-R 601-2 luma):
    /// L = (19595 R + 38470 G + 7471 B + 32768) >> 16, i.e. 0.299 R + 0.587 G + 0.114 B rounded,
    /// on the stored (gamma-encoded) values.
    public static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let red: UInt32 = 19595 * UInt32(r)
        let green: UInt32 = 38470 * UInt32(g)
        let blue: UInt32 = 7471 * UInt32(b)
        return UInt8((red + green + blue + 32768) >> 16)
    }

    /// `value` with opacity `alpha` over `background`: (v a + bg (255 - a) + 127) / 255.
    public static func composite(_ value: UInt8, alpha: UInt8, over background: UInt8) -> UInt8 {
        let front: UInt32 = UInt32(value) * UInt32(alpha)
        let back: UInt32 = UInt32(background) * UInt32(255 - alpha)
        return UInt8((front + back + 127) / 255)
    }

    /// Pixels of `channels` samples each (the last one alpha if `alpha`) as pixels of
    /// `target` samples: alpha composited over `background` first, then RGB to grey by
    /// `luma`, or grey to RGB as R = G = B; other layouts only when the counts match.
    /// Nil when they do not map.
    public static func convert(
        _ pixels: [UInt8], channels: Int, alpha: Bool, to target: Int, background: UInt8 = 0
    ) -> [UInt8]? {
        guard channels > 0, target > 0, pixels.count % channels == 0 else { return nil }
        let colours = alpha ? channels - 1 : channels
        guard colours > 0, colours == target || (colours == 3 && target == 1) || (colours == 1 && target == 3) else {
            return nil
        }
        let count = pixels.count / channels
        var output = [UInt8](repeating: 0, count: count * target)
        var colour = [UInt8](repeating: 0, count: colours)
        for p in 0 ..< count {
            for c in 0 ..< colours {
                let v = pixels[p * channels + c]
                colour[c] = alpha ? composite(v, alpha: pixels[p * channels + colours], over: background) : v
            }
            if colours == target {
                for c in 0 ..< target { output[p * target + c] = colour[c] }
            } else if target == 1 {
                output[p] = luma(colour[0], colour[1], colour[2])
            } else {
                for c in 0 ..< 3 { output[p * 3 + c] = colour[0] }
            }
        }
        return output
    }
}

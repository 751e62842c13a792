import STNImage

/// A type stored images hold their samples in, as `FrameFitting` turns them into the model's
/// input values: bytes (PNG, PGM, ubyte IDX files), scaled by 1/255 as the engine scales its
/// 8-bit input, or float32 (float IDX files), taken as they are.
protocol FrameSample {
    /// The model's input value of this sample.
    var inputValue: Float { get }
    /// Grey from R, G and B by luminance (ITU-R 601-2 weights).
    static func luma(_ r: Self, _ g: Self, _ b: Self) -> Self
    /// The sample with opacity `alpha` over black.
    func composited(alpha: Self) -> Self
}

extension UInt8: FrameSample {
    /// v x (1/255), the engine's scale for 8-bit input (bit for bit).
    @inline(__always) var inputValue: Float { Float(self) * (1 / 255) }

    /// Pillow's `convert("L")`: (19595 R + 38470 G + 7471 B + 32768) >> 16.
    @inline(__always) static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 { PixelConversion.luma(r, g, b) }

    @inline(__always) func composited(alpha: UInt8) -> UInt8 { PixelConversion.composite(self, alpha: alpha, over: 0) }
}

extension Float: FrameSample {
    /// Already the model's input value.
    @inline(__always) var inputValue: Float { self }

    /// The bytes' weights without the rounding: (19595 R + 38470 G + 7471 B) / 65536.
    @inline(__always) static func luma(_ r: Float, _ g: Float, _ b: Float) -> Float {
        (19595 * r + 38470 * g + 7471 * b) * (1 / 65536)
    }

    /// Alpha in 0 ... 1.
    @inline(__always) func composited(alpha: Float) -> Float { self * alpha }
}

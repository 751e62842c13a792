/// A 24-bit colour.
public struct RGB: Sendable, Equatable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public init(gray: UInt8) { self.init(gray, gray, gray) }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let red = RGB(214, 39, 40)
    public static let green = RGB(44, 160, 44)
    public static let blue = RGB(31, 119, 180)
    public static let orange = RGB(255, 127, 14)
    public static let gray = RGB(128, 128, 128)
    public static let lightGray = RGB(225, 225, 225)
}

/// An RGB raster with the few drawing operations the tools need: rectangles, lines,
/// polygons, grayscale images (upscaled), text in a built-in 5x7 font, and PNG output.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [RGB]

    public init(width: Int, height: Int, background: RGB = .white) {
        self.width = max(0, width)
        self.height = max(0, height)
        pixels = [RGB](repeating: background, count: self.width * self.height)
    }

    /// Reading out of bounds gives black; writing out of bounds is ignored.
    public subscript(x: Int, y: Int) -> RGB {
        get { x >= 0 && x < width && y >= 0 && y < height ? pixels[y * width + x] : .black }
        set { if x >= 0 && x < width && y >= 0 && y < height { pixels[y * width + x] = newValue } }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        for yy in max(0, y) ..< min(height, y + h) where w > 0 {
            for xx in max(0, x) ..< min(width, x + w) { pixels[yy * width + xx] = color }
        }
    }

    /// A straight line (Bresenham), `thickness` pixels wide.
    public mutating func line(from a: (Double, Double), to b: (Double, Double), color: RGB, thickness: Int = 1) {
        var x0 = Int(a.0.rounded()), y0 = Int(a.1.rounded())
        let x1 = Int(b.0.rounded()), y1 = Int(b.1.rounded())
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        let half = (thickness - 1) / 2
        while true {
            fill(x: x0 - half, y: y0 - half, width: thickness, height: thickness, color: color)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x0 += sx }
            if e2 <= dx { error += dx; y0 += sy }
        }
    }

    /// A closed polygon outline.
    public mutating func polygon(_ points: [(Double, Double)], color: RGB, thickness: Int = 1) {
        for i in points.indices { line(from: points[i], to: points[(i + 1) % points.count], color: color, thickness: thickness) }
    }

    public mutating func rectangle(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        polygon([(Double(x), Double(y)), (Double(x + w - 1), Double(y)), (Double(x + w - 1), Double(y + h - 1)), (Double(x), Double(y + h - 1))], color: color)
    }

    /// Draws an 8-bit grayscale image (0 black, 255 white), each pixel as a scale x scale block.
    public mutating func drawGray(_ gray: [UInt8], width w: Int, height h: Int, atX x: Int, y: Int, scale: Int = 1, invert: Bool = false) {
        for row in 0 ..< h {
            for column in 0 ..< w {
                let v = gray[row * w + column]
                fill(x: x + column * scale, y: y + row * scale, width: scale, height: scale, color: RGB(gray: invert ? 255 - v : v))
            }
        }
    }

    /// Draws floats in [0, 1] as grayscale (clamped).
    public mutating func drawGray(floats: [Float], width w: Int, height h: Int, atX x: Int, y: Int, scale: Int = 1, invert: Bool = false) {
        let bytes = floats.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
        drawGray(bytes, width: w, height: h, atX: x, y: y, scale: scale, invert: invert)
    }

    /// Copies another canvas in, top-left corner at (x, y).
    public mutating func draw(_ other: Canvas, atX x: Int, y: Int) {
        for row in 0 ..< other.height {
            for column in 0 ..< other.width { self[x + column, y + row] = other.pixels[row * other.width + column] }
        }
    }

    /// Text in the built-in 5x7 font (6x8 cell per character at scale 1); lower case is
    /// drawn as upper case. Returns the width drawn.
    @discardableResult
    public mutating func text(_ string: String, x: Int, y: Int, color: RGB = .black, scale: Int = 1) -> Int {
        var cursor = x
        for character in string.uppercased() {
            if let rows = Font.glyph(character) {
                for (r, bits) in rows.enumerated() {
                    for c in 0 ..< 5 where bits & (0x10 >> c) != 0 {
                        fill(x: cursor + c * scale, y: y + r * scale, width: scale, height: scale, color: color)
                    }
                }
            }
            cursor += Font.advance * scale
        }
        return cursor - x
    }

    public static func textWidth(_ string: String, scale: Int = 1) -> Int { string.count * Font.advance * scale }

    public func pngData() -> [UInt8] {
        var rgb = [UInt8]()
        rgb.reserveCapacity(pixels.count * 3)
        for p in pixels { rgb += [p.r, p.g, p.b] }
        return PNG.encode(width: width, height: height, rgb: rgb)
    }

    /// Writes a PNG atomically (temporary file, then rename).
    public func writePNG(to path: String) throws {
        try writeAtomically(pngData(), to: path)
    }
}

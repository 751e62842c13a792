import STNSystem

/// A 24-bit colour.
public struct RGB: Sendable, Equatable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public init(gray: UInt8) { self.init(gray, gray, gray) }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let red = RGB(214, 39, 40)
    public static let green = RGB(44, 160, 44)
    public static let blue = RGB(31, 119, 180)
    public static let orange = RGB(255, 127, 14)
    public static let gray = RGB(128, 128, 128)
    public static let lightGray = RGB(225, 225, 225)
    /// Colours for successive series of a plot.
    public static let series: [RGB] = [.red, .blue, .green, .orange, .gray]
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

    /// Fills a rectangle, clipped to the canvas (nothing if it lies outside).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        let x0 = max(0, x)
        let x1 = min(width, x &+ max(0, w))
        let y0 = max(0, y)
        let y1 = min(height, y &+ max(0, h))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0 ..< y1 {
            for xx in x0 ..< x1 { pixels[yy * width + xx] = color }
        }
    }

    /// A straight line (Bresenham), `thickness` pixels wide.
    public mutating func line(from a: (Double, Double), to b: (Double, Double), color: RGB, thickness: Int = 1) {
        // Clip to the canvas (plus the pen's width) first: a transform that maps far outside
        // must not mean a walk of millions of pixels, and NaN draws nothing.
        let margin = Double(max(1, thickness))
        guard
            let (a, b) = Canvas.clip(
                a, b, minX: -margin, minY: -margin, maxX: Double(width) + margin, maxY: Double(height) + margin)
        else { return }
        var x0 = Int(a.0.rounded())
        var y0 = Int(a.1.rounded())
        let x1 = Int(b.0.rounded())
        let y1 = Int(b.1.rounded())
        let dx = abs(x1 - x0)
        let dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1
        let sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        let half = (thickness - 1) / 2
        while true {
            fill(x: x0 - half, y: y0 - half, width: thickness, height: thickness, color: color)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * error
            if e2 >= dy {
                error += dy
                x0 += sx
            }
            if e2 <= dx {
                error += dx
                y0 += sy
            }
        }
    }

    /// The part of segment a-b inside the rectangle (Liang-Barsky), or nil.
    static func clip(
        _ a: (Double, Double), _ b: (Double, Double), minX: Double, minY: Double, maxX: Double, maxY: Double
    ) -> ((Double, Double), (Double, Double))? {
        guard a.0.isFinite, a.1.isFinite, b.0.isFinite, b.1.isFinite else { return nil }
        let dx = b.0 - a.0
        let dy = b.1 - a.1
        var t0 = 0.0
        var t1 = 1.0
        for (p, q) in [(-dx, a.0 - minX), (dx, maxX - a.0), (-dy, a.1 - minY), (dy, maxY - a.1)] {
            if p == 0 {
                if q < 0 { return nil }
                continue
            }
            let r = q / p
            if p < 0 {
                if r > t1 { return nil }
                t0 = max(t0, r)
            } else {
                if r < t0 { return nil }
                t1 = min(t1, r)
            }
        }
        return ((a.0 + t0 * dx, a.1 + t0 * dy), (a.0 + t1 * dx, a.1 + t1 * dy))
    }

    /// A closed polygon outline.
    public mutating func polygon(_ points: [(Double, Double)], color: RGB, thickness: Int = 1) {
        for i in points.indices {
            line(from: points[i], to: points[(i + 1) % points.count], color: color, thickness: thickness)
        }
    }

    public mutating func rectangle(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        polygon(
            [
                (Double(x), Double(y)), (Double(x + w - 1), Double(y)), (Double(x + w - 1), Double(y + h - 1)),
                (Double(x), Double(y + h - 1)),
            ], color: color)
    }

    /// Draws an 8-bit grayscale image (0 black, 255 white), each pixel as a scale x scale block.
    public mutating func drawGray(
        _ gray: [UInt8], width w: Int, height h: Int, atX x: Int, y: Int, scale: Int = 1, invert: Bool = false
    ) {
        for row in 0 ..< h {
            for column in 0 ..< w {
                let v = gray[row * w + column]
                fill(
                    x: x + column * scale, y: y + row * scale, width: scale, height: scale,
                    color: RGB(gray: invert ? 255 - v : v))
            }
        }
    }

    /// Draws floats in [0, 1] as grayscale (clamped).
    public mutating func drawGray(
        floats: [Float], width w: Int, height h: Int, atX x: Int, y: Int, scale: Int = 1, invert: Bool = false
    ) {
        let bytes = floats.map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
        drawGray(bytes, width: w, height: h, atX: x, y: y, scale: scale, invert: invert)
    }

    /// Copies another canvas in, top-left corner at (x, y).
    public mutating func draw(_ other: Canvas, atX x: Int, y: Int) {
        for row in 0 ..< other.height {
            for column in 0 ..< other.width { self[x + column, y + row] = other.pixels[row * other.width + column] }
        }
    }

    /// Canvases placed left to right, top-aligned, on white (multi-panel figures).
    public static func sideBySide(_ panels: [Canvas]) -> Canvas {
        var canvas = Canvas(
            width: panels.reduce(0) { $0 + $1.width }, height: panels.map(\.height).max() ?? 0, background: .white)
        var x = 0
        for panel in panels {
            canvas.draw(panel, atX: x, y: 0)
            x += panel.width
        }
        return canvas
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
        do {
            try writeAtomically(pngData(), to: path)
        } catch let error as FileError {
            throw ImageWriteError(description: "\(path): cannot write image: \(error.reason)")
        }
    }
}

import CZlib

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Minimal PNG encoder: 8-bit RGB or grayscale, filter 0, zlib-deflated, CRC-checked chunks.
public enum PNG {
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        precondition(rgb.count == width * height * 3, "RGB buffer does not match the size")
        return encode(width: width, height: height, colorType: 2, channels: 3, samples: rgb)
    }

    public static func encode(width: Int, height: Int, gray: [UInt8]) -> [UInt8] {
        precondition(gray.count == width * height, "gray buffer does not match the size")
        return encode(width: width, height: height, colorType: 0, channels: 1, samples: gray)
    }

    static func encode(width: Int, height: Int, colorType: UInt8, channels: Int, samples: [UInt8]) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity((width * channels + 1) * height)
        for y in 0 ..< height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: samples[y * width * channels ..< (y + 1) * width * channels])
        }
        var compressedSize = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        _ = compress2(&compressed, &compressedSize, raw, UInt(raw.count), 9)
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, colorType, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        png += chunk("IHDR", header)
        png += chunk("IDAT", Array(compressed[0 ..< Int(compressedSize)]))
        png += chunk("IEND", [])
        return png
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let body = typeBytes + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
    }
}

/// Why an image could not be written: one line naming the file.
public struct ImageWriteError: Error, CustomStringConvertible {
    public let description: String
}

import Foundation
import STNImage
import STNTestSupport
import XCTest

@testable import STNTensorBoard

/// The event file's bytes: CRC-32C against published test vectors, and whole records
/// against what TensorBoard's own Python writer (protobuf + RecordWriter, tensorboard 2.21)
/// makes of the same events.
final class TensorBoardEventTests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The CRC-32C check value and RFC 3720's (iSCSI) test vectors.
    func testCRC32CMatchesKnownVectors() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0 ..< 32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // The mask rotates right by 15 and adds 0xA282EAD8.
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x0000_8000), 0xA282_EAD9)
    }

    /// The file's first record, byte for byte: Event(wall_time=1.5, file_version="brain.Event:2").
    func testFileVersionRecordIsByteForByteTensorBoards() {
        let event = TensorBoardEvent.fileVersionEvent(wallTime: 1.5)
        XCTAssertEqual(hex(event), "09000000000000f83f1a0d627261696e2e4576656e743a32")
        XCTAssertEqual(
            hex(TensorBoardEvent.record(event)),
            "1800000000000000a37f4b2209000000000000f83f1a0d627261696e2e4576656e743a322a28646c")
    }

    /// A scalar summary record: Event(wall_time=2, step=3, summary={test/loss: 0.25}).
    func testScalarRecordIsByteForByteTensorBoards() {
        let event = TensorBoardEvent.summaryEvent(
            wallTime: 2, step: 3, values: [.scalar(tag: "test/loss", value: 0.25)])
        XCTAssertEqual(hex(event), "09000000000000004010032a120a100a09746573742f6c6f7373150000803e")
        XCTAssertEqual(
            hex(TensorBoardEvent.record(event)),
            "1f00000000000000514b441809000000000000004010032a120a100a09746573742f6c6f7373150000803e542a2f84")
    }

    /// An image value: Summary.Image(height=2, width=3, colorspace=1, encoded_image_string=...).
    func testImageValueEncodesSizeColourSpaceAndBytes() {
        let image = SummaryImage(width: 3, height: 2, colorspace: 1, png: [0x89, 0x50, 0x4E, 0x47])
        let event = TensorBoardEvent.summaryEvent(wallTime: 2, step: 3, values: [.image(tag: "im", image: image)])
        XCTAssertEqual(hex(event), "09000000000000004010032a140a120a02696d220c080210031801220489504e47")
    }

    /// A written file holds the version record then each event's record, whole.
    func testWriterAppendsWholeRecords() throws {
        let directory = NSTemporaryDirectory() + "stn-tb-\(UUID().uuidString)/run"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try EventFileWriter(directory: directory, wallTime: 1.5, host: "h")
        XCTAssertEqual(writer.path, directory + "/events.out.tfevents.1.h")
        try writer.write(step: 3, values: [.scalar(tag: "test/loss", value: 0.25)], wallTime: 2)
        // A second writer in the same second gets its own file.
        let second = try EventFileWriter(directory: directory, wallTime: 1.5, host: "h")
        XCTAssertNotEqual(second.path, writer.path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        XCTAssertEqual(
            hex(bytes),
            "1800000000000000a37f4b2209000000000000f83f1a0d627261696e2e4576656e743a322a28646c"
                + "1f00000000000000514b441809000000000000004010032a120a100a09746573742f6c6f7373150000803e542a2f84")
    }

    /// A directory that cannot be made is one line naming it.
    func testUnwritableDirectoryIsOneLine() throws {
        let file = NSTemporaryDirectory() + "stn-tb-file-\(UUID().uuidString)"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try EventFileWriter(directory: file + "/tb")) { error in
            XCTAssertTrue("\(error)".hasPrefix(file), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }
}

/// Input and transformer output side by side, as the image dashboard shows them.
final class SummaryImagePanelTests: XCTestCase {
    func testPanelsSitSideBySideWithAGreyGap() throws {
        let input = FloatImage(pixels: [0, 1, 1, 0], width: 2, height: 2, channels: 1, interleaved: true)
        let output = FloatImage(pixels: [0.5], width: 1, height: 1, channels: 1, interleaved: false)
        let image = SummaryImage.sideBySide([input, output], gap: 1)
        XCTAssertEqual(image.width, 4)
        XCTAssertEqual(image.height, 2)
        XCTAssertEqual(image.colorspace, 1)
        let decoded = try ImageFile.decode(image.png, name: "panel")
        XCTAssertEqual(decoded.width, 4)
        XCTAssertEqual(decoded.channels, 1)
        XCTAssertEqual(decoded.eightBitSamples, [0, 255, 128, 128, 255, 0, 128, 0])
    }

    func testAnRGBPanelMakesTheImageRGB() throws {
        // Planar RGB: a red pixel beside a grey one.
        let red = FloatImage(pixels: [1, 0, 0], width: 1, height: 1, channels: 3, interleaved: false)
        let grey = FloatImage(pixels: [0.2], width: 1, height: 1, channels: 1, interleaved: true)
        let image = SummaryImage.sideBySide([red, grey], gap: 0)
        XCTAssertEqual(image.colorspace, 3)
        let decoded = try ImageFile.decode(image.png, name: "panel")
        XCTAssertEqual(decoded.eightBitSamples, [255, 0, 0, 51, 51, 51])
    }
}

/// The committed event file stn-train wrote (Tests/Fixtures/tensorboard, which TensorBoard's
/// own reader accepts: tools/fixtures/check_tensorboard.py): its records and CRCs as this
/// package reads them.
final class TensorBoardFixtureTests: XCTestCase {
    func testCommittedEventFileHasWholeRecordsAndEveryTag() throws {
        let bytes = [UInt8](
            try Data(
                contentsOf: FixturePaths.fixtures.appendingPathComponent(
                    "tensorboard/events.out.tfevents.1796676502.vm")))
        func little(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        var records: [[UInt8]] = []
        var at = 0
        while at + 16 <= bytes.count {
            let length = Int(little(bytes[at ..< at + 8]))
            XCTAssertEqual(
                little(bytes[at + 8 ..< at + 12]), UInt64(CRC32C.masked(CRC32C.checksum(bytes[at ..< at + 8]))))
            let data = Array(bytes[at + 12 ..< at + 12 + length])
            XCTAssertEqual(
                little(bytes[at + 12 + length ..< at + 16 + length]), UInt64(CRC32C.masked(CRC32C.checksum(data))))
            records.append(data)
            at += 16 + length
        }
        XCTAssertEqual(at, bytes.count)
        XCTAssertEqual(records.count, 3)
        let text = records.map { String(decoding: $0, as: UTF8.self) }
        XCTAssertTrue(text[0].contains(TensorBoardEvent.fileVersion))
        for tag in ["loss/train", "loss/test", "accuracy/test", "learning_rate", "transformer/test_image_3"] {
            XCTAssertTrue(text[1].contains(tag) && text[2].contains(tag), tag)
        }
    }
}

// swift-tools-version: 6.1
//
// A package that embeds the stn-swift engine: `embed-engine` classifies one frame. It
// depends on stn-swift by path; another project would name a branch or revision instead:
//     .package(url: "https://github.com/OWNER/stn-swift", branch: "main")
// (a version requirement such as `from: "1.0.0"` is refused, see docs/building.md).
import PackageDescription

// SwiftPM knows a path dependency by its directory's name, whatever the clone is called.
let stnSwift = String(Context.packageDirectory.split(separator: "/").dropLast(2).last ?? "stn-swift")

let package = Package(
    name: "EmbedEngine",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "embed-engine",
            dependencies: [
                .product(name: "STNEngine", package: stnSwift),
                .product(name: "STNData", package: stnSwift),
            ])
    ]
)

import Foundation

/// Checks of output paths that commands run before long work, so a typo in an output option does not cost
/// the finished run.
public enum OutputPath {
    /// Throws a `UsageError` when `path` names a folder or its parent folder does not exist.
    public static func checkFile(_ path: String, option: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw UsageError("invalid value '\(path)' for --\(option): it is a folder; give a file name")
        }
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw UsageError(
                "invalid value '\(path)' for --\(option): the folder \(folder) does not exist; create it first")
        }
    }

    /// Throws a `UsageError` when `path` exists and is not a folder, or when the folder cannot be created.
    public static func checkFolder(_ path: String, option: String) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw UsageError("invalid value '\(path)' for --\(option): it is a file; give a folder name")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw UsageError(
                "invalid value '\(path)' for --\(option): the folder cannot be created (\(error.localizedDescription))")
        }
    }
}

/// The image data sets that `scripts/fetch-assets` installs under `$ELIDE_HOME/datasets`.
public enum StandardImageDataset: String, Sendable, CaseIterable {
    case mnist
    case fashionMNIST = "fashion-mnist"

    /// The training or the test part of a data set.
    public enum Split: String, Sendable, CaseIterable {
        /// 60,000 images for MNIST and Fashion-MNIST.
        case train
        /// 10,000 images for MNIST and Fashion-MNIST.
        case test
    }

    /// `<elideHome>/datasets/<rawValue>`.
    public func folder(elideHome: String) -> String {
        "\(elideHome)/datasets/\(rawValue)"
    }

    /// Returns the paths of the images and labels files of `split`.
    public func paths(split: Split, elideHome: String) -> (images: String, labels: String) {
        let prefix = split == .train ? "train" : "t10k"
        let folder = folder(elideHome: elideHome)
        return ("\(folder)/\(prefix)-images-idx3-ubyte", "\(folder)/\(prefix)-labels-idx1-ubyte")
    }

    /// Loads `split` from `elideHome`; a missing file fails with a message that names scripts/fetch-assets.
    public func load(split: Split, elideHome: String) throws -> LabeledImageSet {
        let (images, labels) = paths(split: split, elideHome: elideHome)
        do {
            return try IDXDataset.load(imagesPath: images, labelsPath: labels, classCount: 10)
        } catch let error as DatasetError where error.kind == .cannotOpen {
            throw DatasetError(
                .cannotOpen, path: error.path, problem: error.problem,
                remedy: "Run scripts/fetch-assets (ELIDE_HOME=\(elideHome)) to download and verify \(rawValue).")
        }
    }
}

/// Namespace for module-level facts of ElideTensor.
public enum ElideTensorModule {
    public static let name = "ElideTensor"
}

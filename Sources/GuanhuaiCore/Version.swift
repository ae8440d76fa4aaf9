/// guanhuai's version, printed by `guanhuai --version` and `guanhuaid --version` and logged at start.
public enum GuanhuaiVersion {
    public static let string = "0.6.0"
}

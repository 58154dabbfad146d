/** Where the router sends a host's requests. */
export interface Route {
  appId: string;
  appName: string;
  forceHttps: boolean;
  /** `address:port` of each web process that is up. */
  backends: string[];
}

/** A custom domain's certificate; `version` changes whenever the certificate or key does. */
export interface RouteCertificate {
  version: string;
  cert: string;
  /** The private key in PEM, read only when the router has not written this version yet. */
  key(): string;
}

export interface RouteSet {
  /** Routes by host name. */
  hosts: Map<string, Route>;
  /** Certificates by host name, for HTTPS (chosen by SNI). */
  certificates: Map<string, RouteCertificate>;
}

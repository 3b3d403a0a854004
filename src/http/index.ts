// The "trellis/http" entry: re-exports only.
export {
  serveHttp,
  type ServeHttpOptions,
  type HttpServerInfo,
  type HttpHandler,
  type HttpErrorHandler,
} from "./serve-http.js";

// SPDY/3.1 for the virtual node's kubelet API: `kubectl exec`, `attach` and `port-forward` reach a node
// as SPDY streams, after an HTTP upgrade (acceptSpdyUpgrade) or, for port-forward from Kubernetes 1.36
// when the node declares ExtendWebSocketsToKubelet, inside a WebSocket (acceptSpdyTunnel).
//
//   server.on('upgrade', (request, socket, head) => {
//     const [tunnelled] = spdyTunnelProtocols(request); // e.g. 'portforward.k8s.io'
//     if (tunnelled !== undefined) {
//       void acceptSpdyTunnel(request, socket, head, { protocol: tunnelled }).then(serve, () => undefined);
//     } else if (isSpdyUpgrade(request)) {
//       serve(acceptSpdyUpgrade(socket, head, { protocol: 'v4.channel.k8s.io' })); // one they offered
//     } else socket.destroy();
//   });
//   function serve(connection: SpdyConnection) {
//     connection.on('stream', (stream) => { stream.reply(); ... stream.headers.streamtype ... });
//     connection.on('close', (error) => ...);
//   }
//
// Streams are Node Duplexes with SPDY/3.1 flow control; see SpdyStream and SpdyConnection for the rules.
export { SpdyConnection, type SpdyConnectionEvents, type SpdyConnectionOptions } from './connection.ts';
export { GoAwayStatus, RstStatus } from './frames.ts';
export type { SpdyHeaders } from './header-block.ts';
export { SpdyStream } from './stream.ts';
export { acceptSpdyUpgrade, isSpdyUpgrade } from './upgrade.ts';
export { acceptSpdyTunnel, spdyTunnelProtocols, webSocketDuplex } from './websocket.ts';

// SPDY/3.1 for the virtual node's kubelet API: `kubectl exec`, `attach` and `port-forward` reach a node
// as SPDY streams, after an HTTP upgrade (acceptSpdyUpgrade) or, for port-forward from Kubernetes 1.36,
// inside a WebSocket (acceptSpdyTunnel, over webSocketDuplex).
//
//   server.on('upgrade', (request, socket, head) => {
//     if (!isSpdyUpgrade(request)) return socket.destroy();
//     const connection = acceptSpdyUpgrade(socket, head, { protocol: 'v4.channel.k8s.io' });
//     connection.on('stream', (stream) => { stream.reply(); ... stream.headers.streamtype ... });
//     connection.on('close', (error) => ...);
//   });
export { SpdyConnection, type SpdyConnectionEvents, type SpdyConnectionOptions } from './connection.ts';
export { GoAwayStatus, RstStatus } from './frames.ts';
export type { SpdyHeaders } from './header-block.ts';
export { SpdyStream } from './stream.ts';
export { acceptSpdyUpgrade, isSpdyUpgrade } from './upgrade.ts';
export { acceptSpdyTunnel, spdyTunnelProtocols, webSocketDuplex } from './websocket.ts';

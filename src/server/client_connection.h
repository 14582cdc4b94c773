#pragma once
// Whether the client of a request still holds its connection, for answers that write nothing
// until they are done. cpp-httplib 0.11 (Debian 12) does not hand a request's socket to the
// handler, so the socket is found among the process's own by its two addresses: the handler's
// thread keeps it open for as long as the handler runs. The search happens at once, while the
// client is most likely still there (a reset socket no longer tells its peer's address).
#include <string>

namespace m3::server {

class ClientConnection {
public:
  ClientConnection(const std::string &remote_addr, int remote_port, const std::string &local_addr,
                   int local_port);
  // True once the client has closed or reset the connection; always false when the socket was
  // not found.
  bool closed() const;

private:
  int fd_; // -1: not found
};

} // namespace m3::server

#pragma once
// Whether the client of a request still holds its connection, for answers that write nothing
// until they are done. cpp-httplib 0.11 (Debian 12) does not hand a request's socket to the
// handler, so the socket is found among the process's own by its two addresses: the handler's
// thread keeps it open for as long as the handler runs.
#include <string>

namespace m3::server {

class ClientConnection {
public:
  ClientConnection(std::string remote_addr, int remote_port, std::string local_addr,
                   int local_port);
  // True once the client has closed or reset the connection. The socket is looked up on the
  // first call; when it cannot be found the answer is always false.
  bool closed();

private:
  int find_socket() const;

  std::string remote_addr_;
  int remote_port_;
  std::string local_addr_;
  int local_port_;
  int fd_ = -2; // -2: not looked up yet, -1: not found
};

} // namespace m3::server

#include "server/client_connection.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>

namespace m3::server {
namespace {

// Whether the socket's address (query: getpeername or getsockname) is host:port, the host in the
// numeric form cpp-httplib gives a request. Ports are compared first: most sockets differ there.
bool has_address(int fd, int (*query)(int, sockaddr *, socklen_t *), const std::string &host,
                 int port) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (query(fd, reinterpret_cast<sockaddr *>(&addr), &length) != 0)
    return false;
  int found_port = -1;
  if (addr.ss_family == AF_INET)
    found_port = ntohs(reinterpret_cast<const sockaddr_in &>(addr).sin_port);
  else if (addr.ss_family == AF_INET6)
    found_port = ntohs(reinterpret_cast<const sockaddr_in6 &>(addr).sin6_port);
  if (found_port != port)
    return false;
  char found_host[NI_MAXHOST];
  return getnameinfo(reinterpret_cast<const sockaddr *>(&addr), length, found_host,
                     sizeof found_host, nullptr, 0, NI_NUMERICHOST) == 0 &&
         host == found_host;
}

// The socket with these two addresses among the process's open files, or -1. getpeername fails
// on files that are not connected sockets.
int find_socket(const std::string &remote_addr, int remote_port, const std::string &local_addr,
                int local_port) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  int found = -1;
  while (const dirent *entry = readdir(dir)) {
    char *end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir))
      continue;
    if (has_address(int(fd), getpeername, remote_addr, remote_port) &&
        has_address(int(fd), getsockname, local_addr, local_port)) {
      found = int(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

} // namespace

ClientConnection::ClientConnection(const std::string &remote_addr, int remote_port,
                                   const std::string &local_addr, int local_port)
    : fd_(find_socket(remote_addr, remote_port, local_addr, local_port)) {}

bool ClientConnection::closed() const {
  if (fd_ < 0)
    return false;
  // Peeking consumes nothing: a pipelined next request stays for cpp-httplib to read.
  char byte;
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0)
    return n == 0; // 0: the client shut the connection down
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

} // namespace m3::server

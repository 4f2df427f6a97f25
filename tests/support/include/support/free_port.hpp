// A TCP port on 127.0.0.1 that nothing listens on right now.
#pragma once

namespace support {

int free_port();

}  // namespace support

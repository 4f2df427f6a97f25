# Writes OUTPUT: a C++ file defining users::swagger_ui_files(), the Swagger UI
# files served at /docs/try (npm's swagger-ui-dist at the version pinned in
# DIR/package-lock.json, plus DIR/swagger-initializer.js), compiled into the
# binary like the OpenAPI document, so nothing is loaded from another host.
# npm runs only when DIR/node_modules does not hold the pinned version, so a
# build with the package already installed works offline.
# Run with: cmake -DOUTPUT=... -DDIR=... -DEMBED=.../embed.cmake -P swagger_ui.cmake
# (without OUTPUT: only installs, as `make swagger-ui` does).
set(package "node_modules/swagger-ui-dist")
set(files ${package}/swagger-ui.css ${package}/swagger-ui-bundle.js swagger-initializer.js)

file(READ "${DIR}/package-lock.json" lock)
string(JSON pinned GET "${lock}" packages "${package}" version)

function(installed_version out)
  set(${out} "" PARENT_SCOPE)
  if(EXISTS "${DIR}/${package}/package.json")
    file(READ "${DIR}/${package}/package.json" manifest)
    string(JSON version ERROR_VARIABLE error GET "${manifest}" version)
    if(NOT error)
      set(${out} "${version}" PARENT_SCOPE)
    endif()
  endif()
endfunction()

# Two build trees (debug, release) may get here at once: one npm at a time.
file(LOCK "${DIR}/node_modules.lock" GUARD PROCESS TIMEOUT 600)
installed_version(have)
if(NOT have STREQUAL pinned)
  find_program(NPM npm)
  if(NOT NPM)
    message(FATAL_ERROR "swagger-ui-dist ${pinned} is not installed in ${DIR}/node_modules "
                        "and there is no npm to install it (scripts/install-deps.sh installs npm)")
  endif()
  message(STATUS "Installing swagger-ui-dist ${pinned} with npm ci")
  # --ignore-scripts: no install script runs (swagger-ui-dist's dependency
  # @scarf/scarf would report the install to its vendor).
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env SCARF_ANALYTICS=false
            ${NPM} ci --ignore-scripts --no-audit --no-fund --loglevel=error
    WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE failed)
  installed_version(have)
  if(failed OR NOT have STREQUAL pinned)
    message(FATAL_ERROR "npm ci in ${DIR} failed (swagger-ui-dist ${pinned} wanted, '${have}' found)")
  endif()
endif()
file(LOCK "${DIR}/node_modules.lock" RELEASE)
if(NOT OUTPUT)
  return()
endif()

list(JOIN files "," file_list)
set(BASE "${DIR}")
set(FILES "${file_list}")
set(FUNCTION swagger_ui_files)
include("${EMBED}")

# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` puts where (included by CMakeLists.txt): the two
# binaries, the catalogue, the systemd unit, the man pages, the shell
# completions, the docs, and libairlock (shared and static, headers,
# pkg-config file, CMake package).  Paths follow GNUInstallDirs; the Debian
# package (debian/rules) installs with prefix /usr.
include(CMakePackageConfigHelpers)

install(TARGETS airlock-cli airlock-node-cli airlock-oci-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES data/dangerous-actions.json data/exec-commands.json DESTINATION ${CMAKE_INSTALL_DATADIR}/airlock COMPONENT runtime)

# the unit, with this install's paths
configure_file(contrib/airlock-node.service.in ${CMAKE_BINARY_DIR}/airlock-node.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/airlock-node.service DESTINATION ${AIRLOCK_SYSTEMD_UNITDIR} COMPONENT runtime)

# man pages: generated from docs/ by scripts/gen-man.py and kept in man/
# (tests/docs checks they are current)
file(GLOB AIRLOCK_MAN1 CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.1)
file(GLOB AIRLOCK_MAN5 CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.5)
file(GLOB AIRLOCK_MAN8 CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.8)
install(FILES ${AIRLOCK_MAN1} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
install(FILES ${AIRLOCK_MAN5} DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT runtime)
install(FILES ${AIRLOCK_MAN8} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT runtime)

# shell completions: made at build time by the built `airlock completion`
# (from the same option tables as --help, so they cannot drift from it), and
# whatever contrib/completions/{bash,zsh,fish}/ holds, where each shell looks
set(AIRLOCK_COMPLETIONS ${CMAKE_BINARY_DIR}/completions)
add_custom_command(OUTPUT ${AIRLOCK_COMPLETIONS}/bash/airlock ${AIRLOCK_COMPLETIONS}/zsh/_airlock
  COMMAND ${CMAKE_COMMAND} -E make_directory ${AIRLOCK_COMPLETIONS}/bash ${AIRLOCK_COMPLETIONS}/zsh
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0 $<TARGET_FILE:airlock-node-cli> completion bash
          > ${AIRLOCK_COMPLETIONS}/bash/airlock
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0 $<TARGET_FILE:airlock-node-cli> completion zsh
          > ${AIRLOCK_COMPLETIONS}/zsh/_airlock
  DEPENDS airlock-node-cli VERBATIM)
add_custom_target(airlock-completions ALL DEPENDS ${AIRLOCK_COMPLETIONS}/bash/airlock ${AIRLOCK_COMPLETIONS}/zsh/_airlock)
install(FILES ${AIRLOCK_COMPLETIONS}/bash/airlock DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  COMPONENT runtime)
install(FILES ${AIRLOCK_COMPLETIONS}/zsh/_airlock DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
  COMPONENT runtime)
foreach(shell_dir "bash;${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
                  "zsh;${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions"
                  "fish;${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d")
  list(GET shell_dir 0 shell)
  list(GET shell_dir 1 dest)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/contrib/completions/${shell})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/contrib/completions/${shell}/ DESTINATION ${dest} COMPONENT runtime)
  endif()
endforeach()

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs COMPONENT runtime FILES_MATCHING PATTERN "*.md")

# libairlock
install(TARGETS airlock-shared EXPORT airlockTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library NAMELINK_COMPONENT development)
install(TARGETS airlock-static EXPORT airlockTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(FILES include/airlock/airlock.h include/airlock/client.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/airlock COMPONENT development)
configure_file(cmake/airlock.pc.in ${CMAKE_BINARY_DIR}/airlock.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/airlock.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)
set(AIRLOCK_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/airlock)
install(EXPORT airlockTargets NAMESPACE airlock:: DESTINATION ${AIRLOCK_CMAKEDIR} COMPONENT development)
configure_package_config_file(cmake/airlockConfig.cmake.in ${CMAKE_BINARY_DIR}/airlockConfig.cmake
  INSTALL_DESTINATION ${AIRLOCK_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/airlockConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/airlockConfig.cmake ${CMAKE_BINARY_DIR}/airlockConfigVersion.cmake
  DESTINATION ${AIRLOCK_CMAKEDIR} COMPONENT development)

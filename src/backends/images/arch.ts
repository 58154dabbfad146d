/** The OCI/Go name of this machine's architecture (what image configs carry). */
export function hostArch(): string {
  const names: Partial<Record<NodeJS.Architecture, string>> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
  };
  return names[process.arch] ?? process.arch;
}

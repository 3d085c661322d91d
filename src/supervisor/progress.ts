/** Reports progress of a long operation (turned into MCP progress notifications). */
export type Progress = (p: { progress: number; total?: number; message: string }) => void;

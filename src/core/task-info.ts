/** What {@link currentTask} tells about a task: its id, its name and the task that spawned it. */
export interface TaskInfo {
  readonly id: number;
  readonly name: string;
  readonly parent?: TaskInfo | undefined;
}

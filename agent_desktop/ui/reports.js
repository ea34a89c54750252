// The reports pages (filled by their issue).
export const reportsRoutes = [];

/**
 * Icons: one per dashboard (looked up by the dashboard's name, with a generic one for a
 * dashboard this version does not know yet) and the extension's own.
 */

import { LabIcon } from '@jupyterlab/ui-components';

import activitySvg from '../style/icons/activity.svg';
import astroOpsSvg from '../style/icons/astro-ops.svg';
import calendarSvg from '../style/icons/calendar.svg';
import dashboardSvg from '../style/icons/dashboard.svg';
import ocatSvg from '../style/icons/ocat.svg';
import plannerSvg from '../style/icons/planner.svg';
import stagingSvg from '../style/icons/staging.svg';

export const astroOpsIcon = new LabIcon({
  name: 'jupyter-astro-ops:astro-ops',
  svgstr: astroOpsSvg
});

const genericIcon = new LabIcon({
  name: 'jupyter-astro-ops:dashboard',
  svgstr: dashboardSvg
});

const dashboardIcons: { [name: string]: LabIcon } = {
  activity: new LabIcon({
    name: 'jupyter-astro-ops:activity',
    svgstr: activitySvg
  }),
  calendar: new LabIcon({
    name: 'jupyter-astro-ops:calendar',
    svgstr: calendarSvg
  }),
  staging: new LabIcon({
    name: 'jupyter-astro-ops:staging',
    svgstr: stagingSvg
  }),
  planner: new LabIcon({
    name: 'jupyter-astro-ops:planner',
    svgstr: plannerSvg
  }),
  ocat: new LabIcon({ name: 'jupyter-astro-ops:ocat', svgstr: ocatSvg })
};

export const stagingIcon = dashboardIcons.staging;

/** The icon of a dashboard by its name (`activity`, `calendar`, ...). */
export function dashboardIcon(name: string): LabIcon {
  return dashboardIcons[name] ?? genericIcon;
}
